import { describe, expect, it } from 'vitest';
import { TaskClosedError } from '#core/errors.ts';
import type { PolicyConfigInput } from '#core/policy/config.ts';
import { approvalWindowEndsAt } from '#core/policy/slack-config.ts';
import type { Deps } from '#core/ports.ts';
import { decide } from '#core/requests/requests.ts';
import { clickReply, decideFromSlack } from '#core/slack/decision.ts';
import { expireApprovalStep } from '#core/workflow/steps.ts';
import {
  ALICE,
  arn,
  BOB,
  CAROL,
  fakeDeps,
  MALLORY,
  pendingRequest,
  testConfig,
} from '../../../support/fakes.ts';

/** Alice's approver session has another name: only the Slack mapping knows it is her. */
const ALICE_APPROVER = arn.assumed('Approver', 'alice-admin');

/** Bob and Carol approve from Slack; Alice requests as Developer/alice and approves as Approver/alice. */
const SLACK: PolicyConfigInput['slack'] = {
  defaultChannel: 'C0APPROVALS',
  users: {
    U0BOB: { approver: BOB },
    U0CAROL: { approver: CAROL },
    U0ALICE: { requester: [ALICE], approver: ALICE_APPROVER },
    U0MALLORY: { approver: MALLORY },
  },
};

function setup(minApprovals = 1) {
  return fakeDeps(testConfig({ slack: SLACK }, minApprovals));
}

const approve = (slackUserId: string, requestId: string) =>
  ({ slackUserId, requestId, decision: 'approve' }) as const;
const deny = (slackUserId: string, requestId: string) =>
  ({ slackUserId, requestId, decision: 'deny' }) as const;

describe('decideFromSlack', () => {
  it('records the vote under the clicker’s mapped IAM identity and answers the task token once', async () => {
    // Prepare
    const { deps, workflow, store } = setup();
    const id = await pendingRequest(deps);
    // Act
    const outcome = await decideFromSlack(deps, approve('U0BOB', id));
    // Assess
    expect(outcome).toEqual({
      ok: true,
      actor: BOB,
      result: { requestId: id, status: 'APPROVED', approvals: 1, required: 1 },
    });
    expect(workflow.callbacks).toEqual([{ token: `token-${id}`, output: { decision: 'APPROVED' } }]);
    expect((await store.get(id))?.approvals.map((a) => a.approver)).toEqual([BOB]);
  });

  it('refuses the requester’s own Slack user even though their approver identity differs', async () => {
    // Prepare
    const { deps, workflow, store } = setup();
    const id = await pendingRequest(deps, { caller: ALICE });
    // Act
    const outcome = await decideFromSlack(deps, approve('U0ALICE', id));
    // Assess
    expect(outcome).toMatchObject({ ok: false, refusal: 'SelfApproval' });
    expect(workflow.callbacks).toEqual([]);
    expect((await store.get(id))?.status).toBe('PENDING_APPROVAL');
    expect((await store.get(id))?.approvals).toEqual([]);
  });

  it('refuses the requester’s own denial from Slack too', async () => {
    // Prepare
    const { deps, workflow } = setup();
    const id = await pendingRequest(deps, { caller: ALICE });
    // Act
    const outcome = await decideFromSlack(deps, deny('U0ALICE', id));
    // Assess
    expect(outcome).toMatchObject({ ok: false, refusal: 'SelfApproval' });
    expect(workflow.callbacks).toEqual([]);
  });

  it('refuses a mapped Slack user who is not an approver of the rule', async () => {
    // Prepare
    const { deps, workflow, store } = setup();
    const id = await pendingRequest(deps);
    // Act
    const outcome = await decideFromSlack(deps, approve('U0MALLORY', id));
    // Assess
    expect(outcome).toEqual({ ok: false, actor: MALLORY, refusal: 'NotApprover' });
    expect(workflow.callbacks).toEqual([]);
    expect((await store.get(id))?.approvals).toEqual([]);
  });

  it('refuses a Slack user with no mapping at all', async () => {
    // Prepare
    const { deps, workflow } = setup();
    const id = await pendingRequest(deps);
    // Act
    const outcome = await decideFromSlack(deps, approve('U0STRANGER', id));
    // Assess
    expect(outcome).toEqual({ ok: false, actor: 'slack:U0STRANGER', refusal: 'NotApprover' });
    expect(workflow.callbacks).toEqual([]);
  });

  it('refuses an unmapped Slack user even where an (invalid) rule pattern would match their slack: identity', async () => {
    // Prepare: a config smuggled past validation with a catch-all approver pattern.
    const config = testConfig({ slack: SLACK });
    const rule = config.rules[0];
    if (!rule || rule.approval === 'auto') throw new Error('test config changed');
    const catchAll = { ...config, rules: [{ ...rule, approval: { ...rule.approval, approvers: ['*'] } }] };
    const { deps, workflow } = fakeDeps(catchAll);
    const id = await pendingRequest(deps);
    // Act
    const outcome = await decideFromSlack(deps, approve('U0DAVE', id));
    // Assess
    expect(outcome).toMatchObject({ ok: false, refusal: 'NotApprover' });
    expect(workflow.callbacks).toEqual([]);
  });

  it('with a quorum of 2, the same user clicking twice counts once and the request stays pending', async () => {
    // Prepare
    const { deps, workflow, store } = setup(2);
    const id = await pendingRequest(deps);
    // Act
    const first = await decideFromSlack(deps, approve('U0BOB', id));
    const second = await decideFromSlack(deps, approve('U0BOB', id));
    const stillPending = await store.get(id);
    const third = await decideFromSlack(deps, approve('U0CAROL', id));
    // Assess
    expect(first).toMatchObject({
      ok: true,
      result: { status: 'PENDING_APPROVAL', approvals: 1, required: 2 },
    });
    expect(second).toMatchObject({ ok: false, refusal: 'AlreadyVoted' });
    expect(stillPending?.approvals.map((a) => a.approver)).toEqual([BOB]);
    expect(third).toMatchObject({ ok: true, result: { status: 'APPROVED', approvals: 2 } });
    expect(workflow.callbacks).toEqual([{ token: `token-${id}`, output: { decision: 'APPROVED' } }]);
  });

  it('counts a Slack vote and an API vote of the same identity once', async () => {
    // Prepare
    const { deps, workflow } = setup(2);
    const id = await pendingRequest(deps);
    await decide(deps, BOB, id, 'approve');
    // Act
    const outcome = await decideFromSlack(deps, approve('U0BOB', id));
    // Assess
    expect(outcome).toMatchObject({ ok: false, refusal: 'AlreadyVoted' });
    expect(workflow.callbacks).toEqual([]);
  });

  it('lets exactly one of a concurrent approve and deny win; the loser is told it changed nothing', async () => {
    // Prepare
    const { deps, workflow, store } = setup();
    const id = await pendingRequest(deps);
    // Act
    const outcomes = await Promise.all([
      decideFromSlack(deps, approve('U0BOB', id)),
      decideFromSlack(deps, deny('U0CAROL', id)),
    ]);
    // Assess
    const winners = outcomes.filter((o) => o.ok);
    const losers = outcomes.filter((o) => !o.ok);
    const final = (await store.get(id))?.status;
    expect(winners).toHaveLength(1);
    expect(losers).toEqual([expect.objectContaining({ refusal: 'NotPending', status: final })]);
    expect(workflow.callbacks).toHaveLength(1);
    expect(clickReply(losers[0] as never)).toMatch(/already (approved|denied)\. Your click changed nothing/);
  });

  it('changes nothing when the click comes after the approval window expired the request', async () => {
    // Prepare
    const { deps, workflow, store } = setup();
    const id = await pendingRequest(deps);
    await expireApprovalStep(deps, id);
    const before = await store.events(id);
    // Act
    const outcome = await decideFromSlack(deps, approve('U0BOB', id));
    // Assess
    expect(outcome).toMatchObject({ ok: false, refusal: 'NotPending', status: 'APPROVAL_EXPIRED' });
    expect(clickReply(outcome)).toContain('approval window has closed');
    expect(await store.events(id)).toEqual(before);
    expect(workflow.callbacks).toEqual([]);
  });

  it('refuses a click after the card’s deadline even before the expiry step has run', async () => {
    // Prepare
    const { deps, workflow, store, clock } = setup();
    const id = await pendingRequest(deps);
    const pending = await store.get(id);
    const endsAt = approvalWindowEndsAt(pending?.updatedAt ?? '', deps.config.approvalWindowSeconds);
    clock.advance(deps.config.approvalWindowSeconds);
    // Act
    const outcome = await decideFromSlack(deps, approve('U0BOB', id), endsAt);
    // Assess
    expect(outcome).toMatchObject({ ok: false, refusal: 'WindowClosed' });
    expect((await store.get(id))?.approvals).toEqual([]);
    expect(workflow.callbacks).toEqual([]);
  });

  it('reports a task token that Step Functions has already timed out', async () => {
    // Prepare
    const { deps } = setup();
    const id = await pendingRequest(deps);
    const timedOut = new TaskClosedError('TaskTimedOut: Task Timed Out');
    const late: Deps = {
      ...deps,
      workflow: { ...deps.workflow, sendSuccess: () => Promise.reject(timedOut) },
    };
    // Act
    const outcome = await decideFromSlack(late, approve('U0BOB', id));
    // Assess
    expect(outcome).toMatchObject({ ok: false, refusal: 'TimedOut' });
    expect(clickReply(outcome)).toContain('approval window has closed');
  });

  it('says so when the request does not exist', async () => {
    // Prepare
    const { deps } = setup();
    // Act
    const outcome = await decideFromSlack(deps, approve('U0BOB', 'req-9999'));
    // Assess
    expect(outcome).toMatchObject({ ok: false, refusal: 'NotFound' });
  });

  it('rethrows what is not a decision problem (the store is down)', async () => {
    // Prepare
    const { deps } = setup();
    const id = await pendingRequest(deps);
    const down = new Error('connection reset');
    const broken: Deps = { ...deps, store: { ...deps.store, get: () => Promise.reject(down) } };
    // Act
    const result = decideFromSlack(broken, approve('U0BOB', id));
    // Assess
    await expect(result).rejects.toBe(down);
  });
});

describe('clickReply', () => {
  it('tells an approver how many more approvals are needed', () => {
    // Act
    const reply = clickReply({
      ok: true,
      actor: BOB,
      result: { requestId: 'r', status: 'PENDING_APPROVAL', approvals: 1, required: 3 },
    });
    // Assess
    expect(reply).toBe('Your approval is recorded (1 of 3). 2 more from other approvers are needed.');
  });

  it('says nothing when the decision is final (the card shows it)', () => {
    // Act
    const reply = clickReply({
      ok: true,
      actor: BOB,
      result: { requestId: 'r', status: 'APPROVED', approvals: 1, required: 1 },
    });
    // Assess
    expect(reply).toBeUndefined();
  });

  it.each([
    ['SelfApproval', 'someone else has to decide'],
    ['NotApprover', 'not an approver'],
    ['AlreadyVoted', 'already approved this request'],
    ['WindowClosed', 'approval window has closed'],
    ['NotFound', 'no such request'],
  ] as const)('explains %s and says the click changed nothing', (refusal, words) => {
    // Act
    const reply = clickReply({ ok: false, actor: BOB, refusal });
    // Assess
    expect(reply).toContain(words);
    expect(reply).toContain('Your click changed nothing.');
  });
});
