import { describe, expect, it } from 'vitest';
import { verifyChain } from '#core/audit/chain.ts';
import { ConflictError, SelfApprovalError } from '#core/errors.ts';
import { decide, getRequest, personOf } from '#core/requests/requests.ts';
import {
  ALICE,
  arn,
  BOB,
  fakeDeps,
  pendingRequest,
  testConfig,
  testConfigInput,
} from '../../../support/fakes.ts';

/** Approvers may come from two roles; the same people can hold both. */
function twoApproverRoles(minApprovals: number) {
  const base = testConfigInput({}, minApprovals);
  const [first, ...rest] = base.rules;
  return testConfig({
    rules: [
      {
        ...(first as NonNullable<typeof first>),
        approval: { approvers: [arn.assumed('Approver', '*'), arn.assumed('Developer', '*')], minApprovals },
      },
      ...rest,
    ],
  });
}

describe('approver identity', () => {
  it('takes the person from the session or user name, case-insensitively', () => {
    // Act
    const people = [ALICE, arn.assumed('Approver', 'Alice'), arn.user('ops/alice')].map(personOf);
    // Assess
    expect(new Set(people)).toEqual(new Set(['alice']));
  });

  it('refuses a requester who approves through another role', async () => {
    // Prepare: alice requested as Developer and can also assume an approver role.
    const { deps } = fakeDeps(twoApproverRoles(1));
    const id = await pendingRequest(deps);
    // Act
    const act = decide(deps, arn.assumed('Approver', 'alice'), id, 'approve');
    // Assess
    await expect(act).rejects.toBeInstanceOf(SelfApprovalError);
    expect((await deps.store.get(id))?.status).toBe('PENDING_APPROVAL');
  });

  it('counts one person approving from two roles once toward the quorum', async () => {
    // Prepare
    const { deps, workflow } = fakeDeps(twoApproverRoles(2));
    const id = await pendingRequest(deps);
    await decide(deps, BOB, id, 'approve');
    // Act
    const act = decide(deps, arn.assumed('Developer', 'bob'), id, 'approve');
    // Assess
    await expect(act).rejects.toBeInstanceOf(ConflictError);
    expect((await deps.store.get(id))?.status).toBe('PENDING_APPROVAL');
    expect(workflow.callbacks).toEqual([]);
  });
});

describe('audit chain anchor', () => {
  it('detects events cut from the end of the log, and reports integrity on read', async () => {
    // Prepare
    const { deps, store } = fakeDeps();
    const id = await pendingRequest(deps);
    await decide(deps, BOB, id, 'approve');
    const request = await store.get(id);
    const events = await store.events(id);
    // Act
    const whole = verifyChain(events, request);
    const truncated = verifyChain(events.slice(0, -1), request);
    const unanchored = verifyChain(events.slice(0, -1));
    const read = await getRequest(deps, ALICE, id);
    // Assess
    expect(whole).toEqual({ ok: true });
    expect(truncated).toMatchObject({ ok: false });
    expect(unanchored).toEqual({ ok: true });
    expect(read.integrity).toEqual({ ok: true });
  });
});
