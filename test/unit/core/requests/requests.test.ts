import { describe, expect, it } from 'vitest';
import { verifyChain } from '#core/audit/chain.ts';
import {
  ConflictError,
  ForbiddenError,
  InvalidRequestError,
  NotApproverError,
  NotEligibleError,
  NotFoundError,
  SelfApprovalError,
  TaskClosedError,
} from '#core/errors.ts';
import type { PolicyConfigInput } from '#core/policy/config.ts';
import type { Workflow } from '#core/ports.ts';
import { cancelRequest, decide, getRequest, submitRequest } from '#core/requests/requests.ts';
import { awaitApprovalStep, expireApprovalStep, validateStep } from '#core/workflow/steps.ts';
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
  validBody,
} from '../../../support/fakes.ts';

/** Snapshot of what a refused action must leave untouched. */
async function snapshot(env: ReturnType<typeof fakeDeps>, id: string) {
  return {
    request: await env.store.get(id),
    events: (await env.store.events(id)).length,
    callbacks: env.workflow.callbacks.length,
  };
}

describe('submitRequest', () => {
  it('records REQUESTED with one event and starts the workflow named after the request', async () => {
    // Prepare
    const env = fakeDeps();
    // Act
    const result = await submitRequest(env.deps, ALICE, validBody());
    // Assess
    expect(result).toEqual({ requestId: 'req-0001', status: 'REQUESTED' });
    expect(env.workflow.started).toEqual(['req-0001']);
    const stored = await env.store.get('req-0001');
    expect(stored).toMatchObject({
      status: 'REQUESTED',
      version: 1,
      requester: ALICE,
      ruleId: 'app-read',
      target: arn.role('app-reader'),
      durationSeconds: 900,
      approvals: [],
    });
    const events = await env.store.events('req-0001');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ seq: 1, from: null, to: 'REQUESTED', actor: ALICE });
  });

  it('stores nothing and starts nothing for a refused request', async () => {
    // Prepare
    const env = fakeDeps();
    // Act
    const attempt = submitRequest(
      env.deps,
      ALICE,
      validBody({ permissions: [{ actions: ['iam:*'], resources: ['*'] }] }),
    );
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(InvalidRequestError);
    expect(env.store.requests.size).toBe(0);
    expect(env.workflow.started).toEqual([]);
  });

  it('refuses a caller no rule lists with NotEligibleError', async () => {
    // Prepare
    const env = fakeDeps();
    // Act
    const attempt = submitRequest(env.deps, MALLORY, validBody());
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(NotEligibleError);
    expect(env.store.requests.size).toBe(0);
  });

  it('closes the request as REJECTED when the workflow cannot start', async () => {
    // Prepare
    const env = fakeDeps();
    const failing: Workflow = {
      start: async () => {
        throw new Error('states:StartExecution throttled');
      },
      sendSuccess: env.workflow.sendSuccess.bind(env.workflow),
      status: env.workflow.status.bind(env.workflow),
    };
    const deps = { ...env.deps, workflow: failing };
    // Act
    const attempt = submitRequest(deps, ALICE, validBody());
    // Assess
    await expect(attempt).rejects.toThrow('throttled');
    expect((await env.store.get('req-0001'))?.status).toBe('REJECTED');
    expect((await env.store.events('req-0001')).map((e) => e.to)).toEqual(['REQUESTED', 'REJECTED']);
  });
});

describe('decide', () => {
  it('refuses an approval from the requester', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    const before = await snapshot(env, id);
    // Act
    const attempt = decide(env.deps, ALICE, id, 'approve');
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(SelfApprovalError);
    expect(await snapshot(env, id)).toEqual(before);
  });

  it('refuses an approval from the requester even when the requester also matches the approvers', async () => {
    // Prepare: approvers '*' includes everyone, the requester too.
    const config = testConfig();
    const rules = config.rules.map((r) =>
      r.id === 'app-read' ? { ...r, approval: { approvers: ['*'], minApprovals: 1 } } : r,
    );
    const env = fakeDeps({ ...config, rules });
    const id = await pendingRequest(env.deps);
    // Act
    const attempt = decide(env.deps, ALICE, id, 'approve');
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(SelfApprovalError);
    expect((await env.store.get(id))?.status).toBe('PENDING_APPROVAL');
  });

  it('refuses a denial from the requester', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    // Act
    const attempt = decide(env.deps, ALICE, id, 'deny', 'never mind');
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(SelfApprovalError);
    expect(env.workflow.callbacks).toEqual([]);
  });

  it('refuses an approval from someone who is not an approver of the rule', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    const before = await snapshot(env, id);
    // Act
    const attempt = decide(env.deps, MALLORY, id, 'approve');
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(NotApproverError);
    expect(await snapshot(env, id)).toEqual(before);
  });

  it('approves with one vote on a single-approver rule and sends the callback once', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps, { token: 'tok-1' });
    // Act
    const result = await decide(env.deps, BOB, id, 'approve', 'looks fine');
    // Assess
    expect(result).toMatchObject({ requestId: id, status: 'APPROVED', approvals: 1, required: 1 });
    expect(env.workflow.callbacks).toEqual([{ token: 'tok-1', output: { decision: 'APPROVED' } }]);
    const stored = await env.store.get(id);
    expect(stored?.taskToken).toBeUndefined();
    expect(stored?.approvals).toEqual([
      { approver: BOB, at: '2026-11-22T10:00:00.000Z', comment: 'looks fine' },
    ]);
  });

  it('needs two distinct approvers for a quorum of two', async () => {
    // Prepare
    const env = fakeDeps(testConfig({}, 2));
    const id = await pendingRequest(env.deps, { token: 'tok-q' });
    // Act
    const first = await decide(env.deps, BOB, id, 'approve');
    const afterFirst = await snapshot(env, id);
    const second = await decide(env.deps, CAROL, id, 'approve');
    // Assess
    expect(first).toMatchObject({ status: 'PENDING_APPROVAL', approvals: 1, required: 2 });
    expect(afterFirst.callbacks).toBe(0);
    expect(afterFirst.request?.taskToken).toBe('tok-q');
    expect(second).toMatchObject({ status: 'APPROVED', approvals: 2, required: 2 });
    expect(env.workflow.callbacks).toEqual([{ token: 'tok-q', output: { decision: 'APPROVED' } }]);
    expect((await env.store.get(id))?.approvals.map((a) => a.approver)).toEqual([BOB, CAROL]);
  });

  it('refuses the same approver twice on a quorum of two', async () => {
    // Prepare
    const env = fakeDeps(testConfig({}, 2));
    const id = await pendingRequest(env.deps);
    await decide(env.deps, BOB, id, 'approve');
    const before = await snapshot(env, id);
    // Act
    const attempt = decide(env.deps, BOB, id, 'approve');
    // Assess
    await expect(attempt).rejects.toSatisfy((e) => e instanceof ConflictError && e.code === 'AlreadyVoted');
    const after = await snapshot(env, id);
    expect(after).toEqual(before);
    expect(after.request?.status).toBe('PENDING_APPROVAL');
    expect(env.workflow.callbacks).toEqual([]);
  });

  it('counts one vote when the same approver races with themself', async () => {
    // Prepare
    const env = fakeDeps(testConfig({}, 2));
    const id = await pendingRequest(env.deps);
    // Act
    const results = await Promise.allSettled([
      decide(env.deps, BOB, id, 'approve'),
      decide(env.deps, BOB, id, 'approve'),
    ]);
    // Assess
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: 'AlreadyVoted' });
    expect((await env.store.get(id))?.status).toBe('PENDING_APPROVAL');
    expect(env.workflow.callbacks).toEqual([]);
  });

  it('sends the callback once when two approvers race on a quorum of one', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    // Act
    const results = await Promise.allSettled([
      decide(env.deps, BOB, id, 'approve'),
      decide(env.deps, CAROL, id, 'approve'),
    ]);
    // Assess
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'NotPending' } });
    expect(env.workflow.callbacks).toHaveLength(1);
    expect((await env.store.events(id)).filter((e) => e.to === 'APPROVED')).toHaveLength(1);
  });

  it('refuses an approval after the decision with NotPending', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    await decide(env.deps, BOB, id, 'approve');
    const before = await snapshot(env, id);
    // Act
    const attempt = decide(env.deps, CAROL, id, 'approve');
    // Assess
    await expect(attempt).rejects.toSatisfy((e) => e instanceof ConflictError && e.code === 'NotPending');
    expect(await snapshot(env, id)).toEqual(before);
  });

  it('denies with one DENIED callback and refuses later votes', async () => {
    // Prepare
    const env = fakeDeps(testConfig({}, 2));
    const id = await pendingRequest(env.deps, { token: 'tok-d' });
    await decide(env.deps, BOB, id, 'approve');
    // Act
    const result = await decide(env.deps, CAROL, id, 'deny', 'not during the freeze');
    const lateApprove = decide(env.deps, CAROL, id, 'approve');
    const lateDeny = decide(env.deps, BOB, id, 'deny', 'again');
    // Assess
    expect(result).toMatchObject({ status: 'DENIED' });
    await expect(lateApprove).rejects.toMatchObject({ code: 'NotPending' });
    await expect(lateDeny).rejects.toMatchObject({ code: 'NotPending' });
    expect(env.workflow.callbacks).toEqual([{ token: 'tok-d', output: { decision: 'DENIED' } }]);
    const events = await env.store.events(id);
    expect(events.at(-1)).toMatchObject({
      to: 'DENIED',
      actor: CAROL,
      details: { reason: 'not during the freeze' },
    });
    expect((await env.store.get(id))?.taskToken).toBeUndefined();
  });

  it('changes nothing for a late approval after APPROVAL_EXPIRED', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    await expireApprovalStep(env.deps, id);
    const before = await snapshot(env, id);
    // Act
    const attempt = decide(env.deps, BOB, id, 'approve');
    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'NotPending' });
    expect(await snapshot(env, id)).toEqual(before);
    expect(before.request?.status).toBe('APPROVAL_EXPIRED');
    expect(env.workflow.callbacks).toEqual([]);
  });

  it('refuses a vote while the request is still REQUESTED (no token yet)', async () => {
    // Prepare
    const env = fakeDeps();
    const { requestId } = await submitRequest(env.deps, ALICE, validBody());
    // Act
    const attempt = decide(env.deps, BOB, requestId, 'approve');
    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'NotPending' });
    expect((await env.store.get(requestId))?.status).toBe('REQUESTED');
  });

  it('refuses a vote on an unknown request with NotFoundError', async () => {
    // Prepare
    const env = fakeDeps();
    // Act
    const attempt = decide(env.deps, BOB, 'req-9999', 'approve');
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
  });

  it('appends exactly one event per vote and keeps the chain valid', async () => {
    // Prepare
    const env = fakeDeps(testConfig({}, 2));
    const id = await pendingRequest(env.deps);
    // Act
    const counts = [(await env.store.events(id)).length];
    await decide(env.deps, BOB, id, 'approve');
    counts.push((await env.store.events(id)).length);
    await decide(env.deps, CAROL, id, 'approve');
    counts.push((await env.store.events(id)).length);
    // Assess
    expect(counts).toEqual([2, 3, 4]);
    const events = await env.store.events(id);
    expect(events.map((e) => e.to)).toEqual([
      'REQUESTED',
      'PENDING_APPROVAL',
      'PENDING_APPROVAL',
      'APPROVED',
    ]);
    expect(verifyChain(events)).toEqual({ ok: true });
    expect((await env.store.get(id))?.version).toBe(4);
  });
});

describe('decide: one person behind several principals', () => {
  const ALICE_SRE = arn.assumed('SRE', 'alice-sre');
  const BOB_SRE = arn.assumed('SRE', 'bob-sre');

  /** The test config with SRE sessions among the approvers of `app-read`, plus who-is-who mappings. */
  function withSreApprovers(mappings: Partial<PolicyConfigInput>, minApprovals = 1) {
    const input = testConfigInput(mappings, minApprovals);
    const rules = input.rules.map((r) =>
      r.id === 'app-read' && r.approval !== 'auto'
        ? { ...r, approval: { ...r.approval, approvers: [...r.approval.approvers, arn.assumed('SRE', '*')] } }
        : r,
    );
    return testConfig({ ...mappings, rules }, minApprovals);
  }

  it.each([
    ['slack.users', { slack: { users: { U0ALICE: { approver: ALICE_SRE, requester: [ALICE] } } } }],
    ['people', { people: { alice: [ALICE, ALICE_SRE] } }],
  ])('refuses an approval from the requester’s second principal linked by %s', async (_, mappings) => {
    // Prepare
    const env = fakeDeps(withSreApprovers(mappings));
    const id = await pendingRequest(env.deps);
    const before = await snapshot(env, id);
    // Act
    const attempt = decide(env.deps, ALICE_SRE, id, 'approve');
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(SelfApprovalError);
    expect(await snapshot(env, id)).toEqual(before);
  });

  it.each([
    ['slack.users', { slack: { users: { U0BOB: { approver: BOB_SRE, requester: [BOB] } } } }],
    ['people', { people: { bob: [BOB, BOB_SRE] } }],
  ])('counts two principals of one person linked by %s once toward a quorum of two', async (_, mappings) => {
    // Prepare
    const env = fakeDeps(withSreApprovers(mappings, 2));
    const id = await pendingRequest(env.deps);
    await decide(env.deps, BOB, id, 'approve');
    const before = await snapshot(env, id);
    // Act
    const attempt = decide(env.deps, BOB_SRE, id, 'approve');
    // Assess
    await expect(attempt).rejects.toSatisfy((e) => e instanceof ConflictError && e.code === 'AlreadyVoted');
    const after = await snapshot(env, id);
    expect(after).toEqual(before);
    expect(after.request?.status).toBe('PENDING_APPROVAL');
    expect(env.workflow.callbacks).toEqual([]);
  });

  it('keeps the last-segment rule, and only it, for a person no mapping names', async () => {
    // Prepare: mappings exist, for bob only.
    const env = fakeDeps(withSreApprovers({ people: { bob: [BOB, BOB_SRE] } }, 2));
    const id = await pendingRequest(env.deps);
    // Act
    const sameName = await decide(env.deps, arn.assumed('SRE', 'Alice'), id, 'approve').catch((e) => e);
    const otherName = await decide(env.deps, ALICE_SRE, id, 'approve');
    // Assess
    expect(sameName).toBeInstanceOf(SelfApprovalError);
    expect(otherName).toMatchObject({ status: 'PENDING_APPROVAL', approvals: 1, required: 2 });
  });
});

describe('cancelRequest', () => {
  it('cancels a pending request and releases the waiting workflow', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps, { token: 'tok-c' });
    // Act
    const result = await cancelRequest(env.deps, ALICE, id);
    // Assess
    expect(result).toMatchObject({ status: 'CANCELLED' });
    expect(env.workflow.callbacks).toEqual([{ token: 'tok-c', output: { decision: 'CANCELLED' } }]);
    expect((await env.store.events(id)).at(-1)).toMatchObject({ from: 'PENDING_APPROVAL', to: 'CANCELLED' });
    expect((await env.store.get(id))?.taskToken).toBeUndefined();
  });

  it('cancels a request before the approval step ran, which then ends the workflow', async () => {
    // Prepare
    const env = fakeDeps();
    const { requestId } = await submitRequest(env.deps, ALICE, validBody());
    await validateStep(env.deps, requestId);
    // Act
    const result = await cancelRequest(env.deps, ALICE, requestId);
    const approvalStep = awaitApprovalStep(env.deps, requestId, 'tok-late');
    // Assess
    expect(result).toMatchObject({ status: 'CANCELLED' });
    expect(env.workflow.callbacks).toEqual([]);
    await expect(approvalStep).rejects.toMatchObject({ code: 'NotPending' });
    expect((await env.store.get(requestId))?.taskToken).toBeUndefined();
  });

  it('refuses a cancel from anyone but the requester', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    // Act
    const byApprover = cancelRequest(env.deps, BOB, id);
    const byOutsider = cancelRequest(env.deps, MALLORY, id);
    // Assess
    await expect(byApprover).rejects.toBeInstanceOf(ForbiddenError);
    await expect(byOutsider).rejects.toBeInstanceOf(ForbiddenError);
    expect((await env.store.get(id))?.status).toBe('PENDING_APPROVAL');
  });

  it('refuses to cancel a decided request', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    await decide(env.deps, BOB, id, 'approve');
    // Act
    const attempt = cancelRequest(env.deps, ALICE, id);
    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'NotCancellable' });
    expect((await env.store.get(id))?.status).toBe('APPROVED');
  });
});

describe('getRequest', () => {
  it('never returns the task token or the hash pointer', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps, { token: 'secret-task-token' });
    // Act
    const view = await getRequest(env.deps, ALICE, id);
    // Assess
    expect(view).not.toHaveProperty('taskToken');
    expect(view).not.toHaveProperty('lastHash');
    expect(JSON.stringify(view)).not.toContain('secret-task-token');
    expect(view).toMatchObject({ id, status: 'PENDING_APPROVAL', requester: ALICE });
    expect(view.events.map((e) => e.to)).toEqual(['REQUESTED', 'PENDING_APPROVAL']);
  });

  it('lets an approver of the rule read the request', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    // Act
    const view = await getRequest(env.deps, BOB, id);
    // Assess
    expect(view.id).toBe(id);
  });

  it('forbids an outsider', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    // Act
    const attempt = getRequest(env.deps, MALLORY, id);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('reports an unknown id as not found', async () => {
    // Prepare
    const env = fakeDeps();
    // Act
    const attempt = getRequest(env.deps, ALICE, 'req-9999');
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('getRequest integrity while the request changes', () => {
  it('never reads a request as broken when a status change lands between its reads', async () => {
    // Prepare: an approval is written after the item was read and before the events are.
    const { deps, store } = fakeDeps();
    const id = await pendingRequest(deps);
    const readEvents = store.events.bind(store);
    let landed = false;
    store.events = async (requestId: string) => {
      if (!landed) {
        landed = true;
        await decide(deps, BOB, id, 'approve');
      }
      return readEvents(requestId);
    };
    // Act
    const read = await getRequest(deps, ALICE, id);
    // Assess
    expect(read.integrity).toEqual({ ok: true });
    expect(read.status).toBe('APPROVED');
    expect(read.events.map((e) => e.to)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'APPROVED']);
  });

  it('still reports a log cut short under an item that does not change', async () => {
    // Prepare: the last event is deleted behind the broker's back.
    const { deps, store } = fakeDeps();
    const id = await pendingRequest(deps);
    store.eventLog.get(id)?.pop();
    // Act
    const read = await getRequest(deps, ALICE, id);
    // Assess
    expect(read.integrity).toMatchObject({ ok: false });
  });
});

/** A Step Functions error for a token whose task timed out. */
const timedOut = () => new TaskClosedError('TaskTimedOut: Task Timed Out');

describe('a decision that races the end of the approval window', () => {
  it('tells the approver the window closed and closes the request without a grant in the same call', async () => {
    // Prepare: the approval task has just timed out in Step Functions.
    const { deps, store, iam } = fakeDeps();
    const id = await pendingRequest(deps);
    deps.workflow.sendSuccess = async () => {
      throw timedOut();
    };
    // Act
    const approve = decide(deps, BOB, id, 'approve');
    await expect(approve).rejects.toBeInstanceOf(ConflictError);
    const afterApprove = (await store.get(id))?.status;
    const closed = await expireApprovalStep(deps, id);
    const events = await store.events(id);
    // Assess
    expect(afterApprove).toBe('GRANT_FAILED');
    expect(closed).toEqual({ status: 'GRANT_FAILED' });
    expect(events.map((e) => e.to)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'APPROVED', 'GRANT_FAILED']);
    expect(events.at(-1)?.details).toMatchObject({
      reason: expect.stringContaining('after the approval window'),
      cause: expect.stringContaining('TaskTimedOut'),
    });
    expect(iam.calls.filter((c) => c.op === 'put')).toEqual([]);
  });

  it('keeps a denial that lost the race DENIED', async () => {
    // Prepare
    const { deps, store } = fakeDeps();
    const id = await pendingRequest(deps);
    deps.workflow.sendSuccess = async () => {
      throw timedOut();
    };
    // Act
    await expect(decide(deps, BOB, id, 'deny', 'no')).rejects.toBeInstanceOf(ConflictError);
    const after = await expireApprovalStep(deps, id);
    // Assess
    expect(after).toEqual({ status: 'DENIED' });
    expect((await store.events(id)).map((e) => e.to)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'DENIED']);
  });

  it('cancels a request whose workflow is gone without a server error', async () => {
    // Prepare: the execution was stopped by hand; its token is dead.
    const { deps, store } = fakeDeps();
    const id = await pendingRequest(deps);
    deps.workflow.sendSuccess = async () => {
      throw timedOut();
    };
    // Act
    const result = await cancelRequest(deps, ALICE, id);
    // Assess
    expect(result).toEqual({ status: 'CANCELLED' });
    expect((await store.events(id)).map((e) => e.to)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'CANCELLED']);
  });

  it('leaves an approval whose callback failed for another reason APPROVED for the expiry step', async () => {
    // Prepare: Step Functions throttled the callback (the token is still alive).
    const { deps, store } = fakeDeps();
    const id = await pendingRequest(deps);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    deps.workflow.sendSuccess = async () => {
      throw throttled;
    };
    // Act
    const approve = decide(deps, BOB, id, 'approve');
    // Assess
    await expect(approve).rejects.toBe(throttled);
    expect((await store.get(id))?.status).toBe('APPROVED');
  });
});
