import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '#core/audit/chain.ts';
import type { LocalBroker } from '../../local/runtime.ts';
import {
  APPROVER,
  arn,
  call,
  DEV,
  e2eConfig,
  executionEnd,
  policiesOn,
  readRequest,
  startBroker,
  statuses,
  submit,
  waitForStatus,
} from './harness.ts';

/** Puts on a principal, from the simulated account's call log, for one request's policy. */
function putsFor(broker: LocalBroker, id: string) {
  return broker.iam.calls.filter((c) => c.op === 'put' && c.policyName === `jit-${id}`);
}

describe('local runtime: decisions, cancellation and early revoke', () => {
  let broker: LocalBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('ends DENIED and grants nothing when an approver denies', async () => {
    // Act
    const id = await submit(broker, DEV('alice'), readRequest());
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    const deny = await call(broker, APPROVER('bob'), 'POST', `/requests/${id}/deny`, { reason: 'not today' });
    const execution = await executionEnd(broker, id);
    // Assess
    expect(deny).toMatchObject({ status: 200, body: { status: 'DENIED' } });
    expect(execution.status).toBe('SUCCEEDED');
    expect(putsFor(broker, id)).toEqual([]);
    expect(await statuses(broker, id)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'DENIED']);
  });

  it('ends CANCELLED when the requester withdraws, and refuses a later approval with 409', async () => {
    // Act
    const id = await submit(broker, DEV('alice'), readRequest());
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    const cancel = await call(broker, DEV('alice'), 'POST', `/requests/${id}/cancel`, {});
    const execution = await executionEnd(broker, id);
    const late = await call(broker, APPROVER('bob'), 'POST', `/requests/${id}/approve`, {});
    // Assess
    expect(cancel).toMatchObject({ status: 200, body: { status: 'CANCELLED' } });
    expect(execution.status).toBe('SUCCEEDED');
    expect(late).toMatchObject({ status: 409, body: { error: { code: 'NotPending' } } });
    expect(putsFor(broker, id)).toEqual([]);
    expect(await statuses(broker, id)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'CANCELLED']);
  });

  it('revokes early on request; the workflow revoke at expiry is then a no-op', async () => {
    // Act
    const id = await submit(broker, DEV('alice'), readRequest({ durationSeconds: 3 }));
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    await call(broker, APPROVER('bob'), 'POST', `/requests/${id}/approve`, {});
    await waitForStatus(broker, id, 'GRANTED');
    const revoke = await call(broker, DEV('alice'), 'POST', `/requests/${id}/revoke`, {
      reason: 'done early',
    });
    const attachedAfterRevoke = Object.keys(policiesOn(broker, 'app-reader'));
    const execution = await executionEnd(broker, id);
    const events = await broker.deps.store.events(id);
    // Assess
    expect(revoke).toMatchObject({ status: 202, body: { status: 'REVOKED', alreadyRevoked: false } });
    expect(attachedAfterRevoke).not.toContain(`jit-${id}`);
    expect(execution.status).toBe('SUCCEEDED');
    expect(events.map((e) => e.to)).toEqual([
      'REQUESTED',
      'PENDING_APPROVAL',
      'APPROVED',
      'GRANTED',
      'REVOKED',
    ]);
    expect(events.at(-1)?.actor).toBe(DEV('alice'));
    expect(verifyChain(events)).toEqual({ ok: true });
  });

  it('records one APPROVED event when the same approval arrives twice at once', async () => {
    // Prepare
    const id = await submit(broker, DEV('erin'), readRequest());
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    // Act: two approvers race; the conditional write lets exactly one decide.
    const replies = await Promise.all([
      call(broker, APPROVER('bob'), 'POST', `/requests/${id}/approve`, {}),
      call(broker, APPROVER('bob'), 'POST', `/requests/${id}/approve`, {}),
      call(broker, APPROVER('carol'), 'POST', `/requests/${id}/approve`, {}),
    ]);
    await waitForStatus(broker, id, 'REVOKED');
    const events = await statuses(broker, id);
    // Assess
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(2);
    expect(events.filter((s) => s === 'APPROVED')).toHaveLength(1);
    expect(events).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'APPROVED', 'GRANTED', 'REVOKED']);
    expect(putsFor(broker, id)).toHaveLength(1);
  });

  it('refuses self-approval and outsiders without changing the request', async () => {
    // Prepare
    const id = await submit(broker, DEV('frank'), readRequest());
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    // Act
    const self = await call(broker, DEV('frank'), 'POST', `/requests/${id}/approve`, {});
    const outsider = await call(
      broker,
      arn.assumed('Outsider', 'mallory'),
      'POST',
      `/requests/${id}/approve`,
      {},
    );
    const read = await call(broker, arn.assumed('Outsider', 'mallory'), 'GET', `/requests/${id}`);
    const state = await waitForStatus(broker, id, 'PENDING_APPROVAL');
    await call(broker, DEV('frank'), 'POST', `/requests/${id}/cancel`, {});
    // Assess
    expect(self).toMatchObject({ status: 403, body: { error: { code: 'SelfApproval' } } });
    expect(outsider).toMatchObject({ status: 403, body: { error: { code: 'NotApprover' } } });
    expect(read.status).toBe(403);
    expect(state.approvals).toEqual([]);
  });

  it('lists the rules a developer may use and the requests awaiting an approver, who then approves', async () => {
    // Prepare
    const id = await submit(broker, DEV('hana'), readRequest({ durationSeconds: 1 }));
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    // Act
    const rules = await call<{ rules: { id: string }[] }>(broker, DEV('hana'), 'GET', '/rules');
    const forBob = await call<{ requests: { id: string; status: string }[] }>(
      broker,
      APPROVER('bob'),
      'GET',
      '/pending',
    );
    const forHana = await call<{ requests: { id: string }[] }>(broker, DEV('hana'), 'GET', '/pending');
    const approve = await call(broker, APPROVER('bob'), 'POST', `/requests/${id}/approve`, {});
    const afterwards = await call<{ requests: { id: string }[] }>(broker, APPROVER('bob'), 'GET', '/pending');
    await waitForStatus(broker, id, 'REVOKED');
    // Assess
    expect(rules).toMatchObject({ status: 200 });
    expect(rules.body.rules.map((r) => r.id)).toEqual(['app-read', 'logs-auto']);
    expect(forBob.status).toBe(200);
    expect(forBob.body.requests.find((r) => r.id === id)).toMatchObject({
      status: 'PENDING_APPROVAL',
      requester: DEV('hana'),
    });
    expect(forHana).toEqual({ status: 200, body: { requests: [], reviews: [] } });
    expect(approve).toMatchObject({ status: 200, body: { status: 'APPROVED' } });
    expect(afterwards.body.requests.map((r) => r.id)).not.toContain(id);
    expect(await statuses(broker, id)).toEqual([
      'REQUESTED',
      'PENDING_APPROVAL',
      'APPROVED',
      'GRANTED',
      'REVOKED',
    ]);
  });

  it('auto-approves a low-risk rule and runs it through to REVOKED', async () => {
    // Act
    const id = await submit(broker, DEV('gina'), {
      target: arn.role('ops-logs'),
      permissions: [
        {
          actions: ['logs:GetLogEvents'],
          resources: ['arn:aws:logs:us-east-1:111122223333:log-group:/app/api'],
        },
      ],
      durationSeconds: 1,
      reason: 'read api logs',
    });
    await waitForStatus(broker, id, 'REVOKED');
    // Assess
    expect(await statuses(broker, id)).toEqual(['REQUESTED', 'APPROVED', 'GRANTED', 'REVOKED']);
  });
});

describe('local runtime: approval window', () => {
  let broker: LocalBroker;
  beforeAll(async () => {
    broker = await startBroker(e2eConfig({ approvalWindowSeconds: 2 }));
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('ends APPROVAL_EXPIRED when nobody decides in time, and a late approval changes nothing', async () => {
    // Act
    const id = await submit(broker, DEV('alice'), readRequest());
    const expired = await waitForStatus(broker, id, 'APPROVAL_EXPIRED', 15_000);
    const late = await call(broker, APPROVER('bob'), 'POST', `/requests/${id}/approve`, {});
    const execution = await executionEnd(broker, id);
    // Assess
    expect(expired.taskToken).toBeUndefined();
    expect(late.status).toBe(409);
    expect(execution.status).toBe('SUCCEEDED');
    expect(putsFor(broker, id)).toEqual([]);
    expect(await statuses(broker, id)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'APPROVAL_EXPIRED']);
  });
});
