import { describe, expect, it } from 'vitest';
import { PENDING_LIMIT, pendingApprovals } from '#core/requests/pending-approvals.ts';
import { decide, submitRequest } from '#core/requests/requests.ts';
import { awaitApprovalStep, validateStep } from '#core/workflow/steps.ts';
import {
  ALICE,
  arn,
  BOB,
  CAROL,
  fakeDeps,
  MALLORY,
  pendingRequest,
  testConfig,
  testConfigInput,
} from '../../../support/fakes.ts';

const DANA = arn.assumed('DbaLead', 'dana');

/** The test config (quorum `minApprovals`) plus `db-write`, decided by DBA leads instead of approvers. */
function config(minApprovals = 1) {
  return testConfig(
    {
      rules: [
        ...testConfigInput({}, minApprovals).rules,
        {
          id: 'db-write',
          requesters: [arn.assumed('Developer', '*')],
          targets: [arn.role('db-*')],
          actions: ['dynamodb:PutItem'],
          resources: [`arn:aws:dynamodb:*:111122223333:table/orders`],
          maxDurationSeconds: 3600,
          approval: { approvers: [arn.assumed('DbaLead', '*')] },
        },
      ],
    },
    minApprovals,
  );
}

const ids = (requests: readonly { id: string }[]) => requests.map((r) => r.id);

describe('pendingApprovals', () => {
  it('shows an approver of the rule the pending request, in the public shape', async () => {
    // Prepare
    const { deps } = fakeDeps(config());
    const id = await pendingRequest(deps);
    // Act
    const pending = await pendingApprovals(deps, BOB);
    // Assess
    expect(ids(pending)).toEqual([id]);
    expect(pending[0]).toMatchObject({
      id,
      status: 'PENDING_APPROVAL',
      requester: ALICE,
      ruleId: 'app-read',
    });
    expect(pending[0]).not.toHaveProperty('taskToken');
    expect(pending[0]).not.toHaveProperty('lastHash');
  });

  it('does not show requesters their own request, even as an approver under another role', async () => {
    // Prepare: alice approves as Approver/alice and requests as Developer/alice, one person.
    const { deps } = fakeDeps(config());
    await pendingRequest(deps);
    // Act
    const pending = await pendingApprovals(deps, arn.assumed('Approver', 'alice'));
    // Assess
    expect(pending).toEqual([]);
  });

  it('does not show an approver a request they already voted on', async () => {
    // Prepare: a quorum of two, so bob's vote leaves the request pending.
    const { deps } = fakeDeps(config(2));
    const id = await pendingRequest(deps);
    await decide(deps, BOB, id, 'approve');
    // Act
    const bob = await pendingApprovals(deps, BOB);
    const carol = await pendingApprovals(deps, CAROL);
    // Assess
    expect(bob).toEqual([]);
    expect(ids(carol)).toEqual([id]);
  });

  it("does not show a request of another rule's approvers", async () => {
    // Prepare
    const { deps } = fakeDeps(config());
    const { requestId: dbId } = await submitRequest(deps, ALICE, {
      kind: 'policy',
      target: arn.role('db-orders'),
      permissions: [
        { actions: ['dynamodb:PutItem'], resources: ['arn:aws:dynamodb:*:111122223333:table/orders'] },
      ],
      durationSeconds: 900,
      reason: 'fix an order',
    });
    await validateStep(deps, dbId);
    await awaitApprovalStep(deps, dbId, 'token-db');
    // Act
    const bob = await pendingApprovals(deps, BOB);
    const dana = await pendingApprovals(deps, DANA);
    const mallory = await pendingApprovals(deps, MALLORY);
    // Assess
    expect(bob).toEqual([]);
    expect(ids(dana)).toEqual([dbId]);
    expect(mallory).toEqual([]);
  });

  it('does not show a request once it is decided', async () => {
    // Prepare
    const { deps } = fakeDeps(config());
    const decided = await pendingRequest(deps);
    const open = await pendingRequest(deps);
    await decide(deps, CAROL, decided, 'deny', 'not now');
    // Act
    const pending = await pendingApprovals(deps, BOB);
    // Assess
    expect(ids(pending)).toEqual([open]);
  });

  it('lists the oldest request first', async () => {
    // Prepare: the older request gets a vote, so it is the last changed.
    const { deps, clock } = fakeDeps(config(2));
    const older = await pendingRequest(deps);
    clock.advance(60);
    const newer = await pendingRequest(deps);
    clock.advance(60);
    await decide(deps, BOB, older, 'approve');
    // Act
    const pending = await pendingApprovals(deps, CAROL);
    // Assess
    expect(ids(pending)).toEqual([older, newer]);
  });

  it(`answers at most ${PENDING_LIMIT} requests, the oldest`, async () => {
    // Prepare
    const { deps, clock } = fakeDeps(config());
    const created: string[] = [];
    for (let i = 0; i <= PENDING_LIMIT; i++) {
      created.push(await pendingRequest(deps));
      clock.advance(1);
    }
    // Act
    const pending = await pendingApprovals(deps, BOB);
    // Assess
    expect(ids(pending)).toEqual(created.slice(0, PENDING_LIMIT));
  });
});
