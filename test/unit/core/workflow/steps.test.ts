import { afterEach, describe, expect, it, vi } from 'vitest';
import { verifyChain } from '#core/audit/chain.ts';
import { ConflictError, ForbiddenError, NotEligibleError, VerificationError } from '#core/errors.ts';
import type { PolicyDocument } from '#core/grants/policy-document.ts';
import { parsePolicyConfig } from '#core/policy/config.ts';
import { principalOf } from '#core/principals.ts';
import { cancelRequest, decide, submitRequest } from '#core/requests/requests.ts';
import {
  awaitApprovalStep,
  compensateGrant,
  expireApprovalStep,
  grantStep,
  markRevokeFailed,
  revokeEarly,
  revokeGrant,
  SYSTEM,
  validateStep,
} from '#core/workflow/steps.ts';
import {
  ACCOUNT,
  ALICE,
  approvedRequest,
  arn,
  BOB,
  fakeDeps,
  grantedRequest,
  MALLORY,
  pendingRequest,
  testConfig,
  testConfigInput,
  validBody,
} from '../../../support/fakes.ts';

const APP_READER = arn.role('app-reader');

afterEach(() => {
  vi.restoreAllMocks();
});

const logsBody = () =>
  validBody({
    target: arn.role('ops-tools'),
    permissions: [
      { actions: ['logs:GetLogEvents'], resources: [`arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/app/web`] },
    ],
    durationSeconds: 600,
  });

describe('validateStep', () => {
  it('leaves an approval rule request in REQUESTED without an event', async () => {
    // Prepare
    const env = fakeDeps();
    const { requestId } = await submitRequest(env.deps, ALICE, validBody());
    // Act
    const result = await validateStep(env.deps, requestId);
    // Assess
    expect(result).toEqual({ outcome: 'APPROVAL_REQUIRED' });
    expect((await env.store.events(requestId)).length).toBe(1);
  });

  it('auto-approves a request under an auto rule with one event', async () => {
    // Prepare
    const env = fakeDeps();
    const { requestId } = await submitRequest(env.deps, ALICE, logsBody());
    // Act
    const result = await validateStep(env.deps, requestId);
    // Assess
    expect(result).toEqual({ outcome: 'AUTO_APPROVED' });
    const events = await env.store.events(requestId);
    expect(events.map((e) => [e.from, e.to, e.actor])).toEqual([
      [null, 'REQUESTED', ALICE],
      ['REQUESTED', 'APPROVED', SYSTEM.autoApproval],
    ]);
    expect(env.workflow.callbacks).toEqual([]);
  });

  it('grants an auto-approved request without any human vote', async () => {
    // Prepare
    const env = fakeDeps();
    const { requestId } = await submitRequest(env.deps, ALICE, logsBody());
    await validateStep(env.deps, requestId);
    // Act
    const { expiresAt } = await grantStep(env.deps, requestId);
    // Assess
    expect(expiresAt).toBe('2026-11-22T10:10:00Z');
    expect(Object.keys(env.iam.policiesOf(arn.role('ops-tools')))).toEqual([`jit-${requestId}`]);
    expect((await env.store.get(requestId))?.approvals).toEqual([]);
  });

  it('rejects a request the changed config no longer allows', async () => {
    // Prepare: s3:GetObject is taken out of app-read after the API accepted the request.
    const env = fakeDeps();
    const { requestId } = await submitRequest(env.deps, ALICE, validBody());
    const input = testConfigInput();
    const narrowed = parsePolicyConfig({
      ...input,
      rules: input.rules.map((r) => (r.id === 'app-read' ? { ...r, actions: ['s3:ListBucket'] } : r)),
    });
    // Act
    const result = await validateStep({ ...env.deps, config: narrowed }, requestId);
    // Assess
    expect(result).toEqual({ outcome: 'REJECTED' });
    const events = await env.store.events(requestId);
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({
      from: 'REQUESTED',
      to: 'REJECTED',
      actor: SYSTEM.validate,
      details: { code: 'NotEligible', issues: [{ field: 'permissions[0].actions[0]' }] },
    });
    expect(env.workflow.callbacks).toEqual([]);
  });

  it('rejects a request whose target became protected', async () => {
    // Prepare
    const env = fakeDeps();
    const { requestId } = await submitRequest(env.deps, ALICE, validBody());
    const config = testConfig({ protectedPrincipals: [APP_READER] });
    // Act
    const result = await validateStep({ ...env.deps, config }, requestId);
    // Assess
    expect(result).toEqual({ outcome: 'REJECTED' });
    expect((await env.store.get(requestId))?.status).toBe('REJECTED');
  });

  it('rejects a request that now falls under another rule', async () => {
    // Prepare: a new rule listed first now matches, so approval rights would silently change.
    const env = fakeDeps();
    const { requestId } = await submitRequest(env.deps, ALICE, validBody());
    const input = testConfigInput();
    const [appRead, ...rest] = input.rules;
    const config = parsePolicyConfig({ ...input, rules: [{ ...appRead, id: 'app-read-v2' }, ...rest] });
    // Act
    const result = await validateStep({ ...env.deps, config }, requestId);
    // Assess
    expect(result).toEqual({ outcome: 'REJECTED' });
    expect((await env.store.events(requestId)).at(-1)?.details).toMatchObject({ code: 'RuleChanged' });
  });

  it('does nothing for a request that is no longer REQUESTED', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    // Act
    const result = await validateStep(env.deps, id);
    // Assess
    expect(result).toEqual({ outcome: 'CLOSED' });
    expect((await env.store.events(id)).length).toBe(2);
  });

  it('ends CLOSED when a cancel lands between its read and its write', async () => {
    // Prepare: the requester cancels just before the auto-approval is written.
    const env = fakeDeps();
    const { requestId } = await submitRequest(env.deps, ALICE, logsBody());
    cancelBeforeNextWrite(env, requestId);
    // Act
    const result = await validateStep(env.deps, requestId);
    // Assess
    expect(result).toEqual({ outcome: 'CLOSED' });
    expect((await env.store.events(requestId)).map((e) => e.to)).toEqual(['REQUESTED', 'CANCELLED']);
  });
});

/** Makes the requester's cancel land right before the next status write of `id` (a race, made certain). */
function cancelBeforeNextWrite(env: ReturnType<typeof fakeDeps>, id: string): void {
  const write = env.store.transition.bind(env.store);
  let raced = false;
  env.store.transition = async (requestId, w) => {
    if (!raced && requestId === id && w.to !== 'CANCELLED') {
      raced = true;
      await cancelRequest(env.deps, ALICE, id);
    }
    return write(requestId, w);
  };
}

describe('awaitApprovalStep', () => {
  it('stores the token, records PENDING_APPROVAL once, and tells the approvers again on a retried invoke', async () => {
    // Prepare
    const env = fakeDeps(testConfig({}, 2));
    const { requestId } = await submitRequest(env.deps, ALICE, validBody());
    await validateStep(env.deps, requestId);
    // Act
    await awaitApprovalStep(env.deps, requestId, 'tok-a');
    await awaitApprovalStep(env.deps, requestId, 'tok-a');
    // Assess
    const stored = await env.store.get(requestId);
    expect(stored?.status).toBe('PENDING_APPROVAL');
    expect(stored?.taskToken).toBe('tok-a');
    const events = await env.store.events(requestId);
    expect(events).toHaveLength(2);
    expect(events[1]?.details).toEqual({ approvalWindowSeconds: 3600, requiredApprovals: 2 });
    expect(JSON.stringify(events)).not.toContain('tok-a');
    // The retry may follow a crash before the card was posted; posting itself is idempotent.
    expect(env.pending.map((r) => r.id)).toEqual([requestId, requestId]);
  });

  it('fails the task with ConflictError (the Closed path) when a cancel lands before its write', async () => {
    // Prepare
    const env = fakeDeps();
    const { requestId } = await submitRequest(env.deps, ALICE, validBody());
    await validateStep(env.deps, requestId);
    cancelBeforeNextWrite(env, requestId);
    // Act
    const step = awaitApprovalStep(env.deps, requestId, 'tok-a');
    // Assess
    await expect(step).rejects.toBeInstanceOf(ConflictError);
    expect((await env.store.events(requestId)).map((e) => e.to)).toEqual(['REQUESTED', 'CANCELLED']);
    expect(env.pending).toEqual([]);
  });
});

describe('expireApprovalStep', () => {
  it('records APPROVAL_EXPIRED and drops the token, once', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    // Act
    const first = await expireApprovalStep(env.deps, id);
    const second = await expireApprovalStep(env.deps, id);
    // Assess
    expect(first).toMatchObject({ status: 'APPROVAL_EXPIRED' });
    expect(second).toMatchObject({ status: 'APPROVAL_EXPIRED' });
    expect((await env.store.events(id)).map((e) => e.to)).toEqual([
      'REQUESTED',
      'PENDING_APPROVAL',
      'APPROVAL_EXPIRED',
    ]);
    expect((await env.store.get(id))?.taskToken).toBeUndefined();
  });

  it('closes a request whose approval never reached the timed-out task, granting nothing', async () => {
    // Prepare: the approval was written, but the task timed out (the step only runs after a timeout).
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    await decide(env.deps, BOB, id, 'approve');
    // Act
    const result = await expireApprovalStep(env.deps, id);
    const again = await expireApprovalStep(env.deps, id);
    // Assess
    expect(result).toMatchObject({ status: 'GRANT_FAILED' });
    expect(again).toMatchObject({ status: 'GRANT_FAILED' });
    expect((await env.store.events(id)).map((e) => e.to)).toEqual([
      'REQUESTED',
      'PENDING_APPROVAL',
      'APPROVED',
      'GRANT_FAILED',
    ]);
    expect(env.iam.calls).toEqual([]);
  });
});

describe('grantStep', () => {
  it('writes jit-<id> with the expiry condition on every statement and records GRANTED', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await approvedRequest(
      env.deps,
      validBody({
        permissions: [
          { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/reports/*'] },
          {
            actions: ['dynamodb:GetItem'],
            resources: [`arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/app-orders`],
          },
        ],
        durationSeconds: 1800,
      }),
    );
    env.clock.advance(30);
    // Act
    const result = await grantStep(env.deps, id);
    // Assess
    expect(result).toMatchObject({ requestId: id, expiresAt: '2026-11-22T10:30:30Z' });
    const policies = env.iam.policiesOf(APP_READER);
    expect(Object.keys(policies)).toEqual([`jit-${id}`]);
    const doc = JSON.parse(policies[`jit-${id}`] ?? '{}') as PolicyDocument;
    expect(doc.Statement).toHaveLength(2);
    for (const s of doc.Statement) {
      expect(s.Effect).toBe('Allow');
      expect(s.Condition).toEqual({ DateLessThan: { 'aws:CurrentTime': '2026-11-22T10:30:30Z' } });
    }
    expect(doc.Statement[1]).toMatchObject({ Action: ['dynamodb:GetItem'] });
    const stored = await env.store.get(id);
    expect(stored).toMatchObject({ status: 'GRANTED', expiresAt: '2026-11-22T10:30:30Z' });
    expect((await env.store.events(id)).at(-1)).toMatchObject({
      to: 'GRANTED',
      actor: SYSTEM.grant,
      details: { policyName: `jit-${id}`, expiresAt: '2026-11-22T10:30:30Z', statements: 2 },
    });
  });

  it('returns the same expiry for a retried invoke without a second event', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await grantedRequest(env.deps);
    const first = (await env.store.get(id))?.expiresAt;
    env.clock.advance(120);
    // Act
    const retried = await grantStep(env.deps, id);
    // Assess
    expect(retried.expiresAt).toBe(first);
    expect((await env.store.events(id)).filter((e) => e.to === 'GRANTED')).toHaveLength(1);
  });

  it('throws VerificationError when the read-back differs from what was written', async () => {
    // Prepare: the read-back has lost the expiry condition.
    const env = fakeDeps();
    const id = await approvedRequest(env.deps);
    const realGet = env.iam.getPolicy.bind(env.iam);
    vi.spyOn(env.iam, 'getPolicy').mockImplementation(async (principal, name) => {
      const stored = await realGet(principal, name);
      if (!stored) return stored;
      const doc = JSON.parse(stored);
      for (const statement of doc.Statement) delete statement.Condition;
      return JSON.stringify(doc);
    });
    // Act
    const attempt = grantStep(env.deps, id);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(VerificationError);
    expect((await env.store.get(id))?.status).toBe('APPROVED');
    expect((await env.store.events(id)).some((e) => e.to === 'GRANTED')).toBe(false);
  });

  it('throws VerificationError when the read-back finds nothing', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await approvedRequest(env.deps);
    vi.spyOn(env.iam, 'getPolicy').mockResolvedValue(undefined);
    // Act
    const attempt = grantStep(env.deps, id);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(VerificationError);
    expect((await env.store.get(id))?.status).toBe('APPROVED');
  });

  it('refuses a request that is not APPROVED and writes nothing', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    // Act
    const attempt = grantStep(env.deps, id);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ConflictError);
    expect(env.iam.calls).toEqual([]);
  });

  it('refuses a target that became protected and writes nothing', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await approvedRequest(env.deps);
    const config = testConfig({ protectedPrincipals: [arn.role('APP-*')] });
    // Act
    const attempt = grantStep({ ...env.deps, config }, id);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(NotEligibleError);
    expect(env.iam.calls.filter((c) => c.op === 'put')).toEqual([]);
  });

  it('addresses the principal by the name in the target ARN', () => {
    // Act
    const role = principalOf({
      target: 'arn:aws:iam::111122223333:role/app-team/app-reader',
      targetType: 'role',
    });
    const user = principalOf({ target: arn.user('svc-reader'), targetType: 'user' });
    // Assess
    expect(role).toEqual({
      account: '111122223333',
      type: 'role',
      name: 'app-reader',
      partition: 'aws',
      path: '/app-team/',
    });
    expect(user).toEqual({
      account: '111122223333',
      type: 'user',
      name: 'svc-reader',
      partition: 'aws',
      path: '/',
    });
  });
});

describe('revokeGrant', () => {
  it('removes the policy, verifies it is gone and records REVOKED', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await grantedRequest(env.deps);
    // Act
    const result = await revokeGrant(env.deps, id, SYSTEM.expiry, 'expired');
    // Assess
    expect(result).toMatchObject({ requestId: id, status: 'REVOKED', alreadyRevoked: false });
    expect(env.iam.policiesOf(APP_READER)).toEqual({});
    expect((await env.store.events(id)).at(-1)).toMatchObject({
      from: 'GRANTED',
      to: 'REVOKED',
      actor: SYSTEM.expiry,
      details: { reason: 'expired', policyName: `jit-${id}`, verified: true },
    });
  });

  it('is idempotent: a second revoke reports alreadyRevoked and writes one REVOKED event', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await grantedRequest(env.deps);
    await revokeGrant(env.deps, id, ALICE, 'done early');
    // Act
    const second = await revokeGrant(env.deps, id, SYSTEM.expiry, 'expired');
    // Assess
    expect(second).toMatchObject({ requestId: id, status: 'REVOKED', alreadyRevoked: true });
    expect((await env.store.events(id)).filter((e) => e.to === 'REVOKED')).toHaveLength(1);
  });

  it('records one REVOKED event when the early revoke and the expiry race', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await grantedRequest(env.deps);
    // Act
    const results = await Promise.all([
      revokeGrant(env.deps, id, ALICE, 'done early'),
      revokeGrant(env.deps, id, SYSTEM.expiry, 'expired'),
    ]);
    // Assess
    expect(results.map((r) => r.alreadyRevoked).sort()).toEqual([false, true]);
    expect((await env.store.events(id)).filter((e) => e.to === 'REVOKED')).toHaveLength(1);
    expect(verifyChain(await env.store.events(id))).toEqual({ ok: true });
  });

  it('treats a policy that is already gone as removed', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await grantedRequest(env.deps);
    await env.iam.deletePolicy({ account: '111122223333', type: 'role', name: 'app-reader' }, `jit-${id}`);
    // Act
    const result = await revokeGrant(env.deps, id, SYSTEM.expiry, 'expired');
    // Assess
    expect(result.status).toBe('REVOKED');
  });

  it('throws VerificationError and stays GRANTED when the policy survives the delete', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await grantedRequest(env.deps);
    vi.spyOn(env.iam, 'deletePolicy').mockResolvedValue(undefined);
    // Act
    const attempt = revokeGrant(env.deps, id, SYSTEM.expiry, 'expired');
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(VerificationError);
    expect((await env.store.get(id))?.status).toBe('GRANTED');
    expect((await env.store.events(id)).some((e) => e.to === 'REVOKED')).toBe(false);
  });

  it('refuses to revoke a request that holds no grant', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await pendingRequest(env.deps);
    // Act
    const attempt = revokeGrant(env.deps, id, SYSTEM.expiry, 'expired');
    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'NotGranted' });
    expect(env.iam.calls.filter((c) => c.op === 'delete')).toEqual([]);
  });
});

describe('revokeEarly', () => {
  it.each([
    ['the requester', ALICE],
    ['an approver', BOB],
  ])('lets %s end a grant early', async (_who, caller) => {
    // Prepare
    const env = fakeDeps();
    const id = await grantedRequest(env.deps);
    // Act
    const result = await revokeEarly(env.deps, caller, id, 'finished');
    // Assess
    expect(result.status).toBe('REVOKED');
    expect((await env.store.events(id)).at(-1)).toMatchObject({
      actor: caller,
      details: { reason: 'finished' },
    });
  });

  it('forbids an outsider and leaves the grant in place', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await grantedRequest(env.deps);
    // Act
    const attempt = revokeEarly(env.deps, MALLORY, id);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ForbiddenError);
    expect(Object.keys(env.iam.policiesOf(APP_READER))).toEqual([`jit-${id}`]);
  });
});

describe('compensateGrant', () => {
  it('removes a policy left by a failed grant and records GRANT_FAILED without a stack trace', async () => {
    // Prepare: the put succeeds, the read-back fails, so the policy is on the role but GRANTED never happened.
    const env = fakeDeps();
    const id = await approvedRequest(env.deps);
    env.iam.inject({ op: 'get', error: () => new Error('read-back failed'), times: 1 });
    await expect(grantStep(env.deps, id)).rejects.toThrow('read-back failed');
    expect(Object.keys(env.iam.policiesOf(APP_READER))).toEqual([`jit-${id}`]);
    const sfnError = {
      Error: 'VerificationError',
      Cause: JSON.stringify({
        errorMessage: 'read-back mismatch',
        stackTrace: ['at grantStep (/var/task/x.js:1)'],
      }),
    };
    // Act
    const result = await compensateGrant(env.deps, id, sfnError);
    // Assess
    expect(result).toMatchObject({ status: 'GRANT_FAILED' });
    expect(env.iam.policiesOf(APP_READER)).toEqual({});
    const last = (await env.store.events(id)).at(-1);
    expect(last).toMatchObject({
      from: 'APPROVED',
      to: 'GRANT_FAILED',
      actor: SYSTEM.compensation,
      details: {
        error: { error: 'VerificationError', cause: 'read-back mismatch' },
        policyName: `jit-${id}`,
        removed: true,
      },
    });
    expect(JSON.stringify(last)).not.toContain('stackTrace');
  });

  it('is idempotent once GRANT_FAILED', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await approvedRequest(env.deps);
    await compensateGrant(env.deps, id, new Error('boom'));
    // Act
    const again = await compensateGrant(env.deps, id, new Error('boom'));
    // Assess
    expect(again).toMatchObject({ status: 'GRANT_FAILED' });
    expect((await env.store.events(id)).filter((e) => e.to === 'GRANT_FAILED')).toHaveLength(1);
  });

  it('refuses to compensate a request that is neither APPROVED nor GRANTED', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await grantedRequest(env.deps);
    await revokeGrant(env.deps, id, 'system:expiry', 'expired');
    const events = (await env.store.events(id)).length;
    // Act
    const attempt = compensateGrant(env.deps, id, new Error('late'));
    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'NotGranted' });
    expect((await env.store.events(id)).length).toBe(events);
  });

  it('revokes a grant whose step failed after recording GRANTED, instead of failing', async () => {
    // Prepare
    const { deps, store, iam } = fakeDeps();
    const id = await grantedRequest(deps, validBody());
    // Act
    const result = await compensateGrant(deps, id, {
      Error: 'States.Timeout',
      Cause: 'grant step timed out',
    });
    // Assess
    expect(result).toEqual({ status: 'REVOKED' });
    expect(iam.policiesOf(arn.role('app-reader'))).toEqual({});
    expect((await store.events(id)).at(-1)).toMatchObject({
      from: 'GRANTED',
      to: 'REVOKED',
      actor: 'system:compensation',
    });
  });
});

describe('markRevokeFailed', () => {
  it('records REVOKE_FAILED, from which a later revoke still ends at REVOKED', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await grantedRequest(env.deps);
    // Act
    const failed = await markRevokeFailed(env.deps, id, { Error: 'Throttling', Cause: 'Rate exceeded' });
    const revoked = await revokeGrant(env.deps, id, 'system:sweeper', 'sweeper');
    // Assess
    expect(failed).toMatchObject({ status: 'REVOKE_FAILED' });
    expect(revoked).toMatchObject({ status: 'REVOKED', alreadyRevoked: false });
    const events = await env.store.events(id);
    expect(events.slice(-2).map((e) => [e.from, e.to])).toEqual([
      ['GRANTED', 'REVOKE_FAILED'],
      ['REVOKE_FAILED', 'REVOKED'],
    ]);
    expect(events.at(-2)?.details).toEqual({ error: { error: 'Throttling', cause: 'Rate exceeded' } });
    expect(env.iam.policiesOf(APP_READER)).toEqual({});
  });

  it('writes nothing for a request that is already revoked', async () => {
    // Prepare
    const env = fakeDeps();
    const id = await grantedRequest(env.deps);
    await revokeGrant(env.deps, id, SYSTEM.expiry, 'expired');
    // Act
    const result = await markRevokeFailed(env.deps, id, new Error('late'));
    // Assess
    expect(result).toMatchObject({ status: 'REVOKED' });
    expect((await env.store.events(id)).at(-1)?.to).toBe('REVOKED');
  });
});

describe('event log', () => {
  it('appends exactly one event per status change across a whole run', async () => {
    // Prepare
    const env = fakeDeps();
    const counts: [string, number][] = [];
    const count = async (label: string, id: string) =>
      counts.push([label, (await env.store.events(id)).length]);
    // Act
    const { requestId: id } = await submitRequest(env.deps, ALICE, validBody());
    await count('submitted', id);
    await validateStep(env.deps, id);
    await count('validated', id);
    await awaitApprovalStep(env.deps, id, 'tok');
    await count('pending', id);
    await decide(env.deps, BOB, id, 'approve');
    await count('approved', id);
    await grantStep(env.deps, id);
    await count('granted', id);
    await markRevokeFailed(env.deps, id, new Error('x'));
    await count('revoke failed', id);
    await revokeGrant(env.deps, id, SYSTEM.expiry, 'expired');
    await count('revoked', id);
    await revokeGrant(env.deps, id, SYSTEM.expiry, 'expired');
    await count('revoked again', id);
    // Assess
    expect(counts).toEqual([
      ['submitted', 1],
      ['validated', 1],
      ['pending', 2],
      ['approved', 3],
      ['granted', 4],
      ['revoke failed', 5],
      ['revoked', 6],
      ['revoked again', 6],
    ]);
    const events = await env.store.events(id);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(verifyChain(events)).toEqual({ ok: true });
    expect((await env.store.get(id))?.version).toBe(6);
  });
});

describe('request lifecycle on fake ports', () => {
  it('grants the policy for the approved window and removes it at expiry', async () => {
    // Prepare
    const { deps, store, iam, workflow } = fakeDeps();
    // Act
    const { requestId } = await submitRequest(deps, ALICE, validBody());
    expect(await validateStep(deps, requestId)).toEqual({ outcome: 'APPROVAL_REQUIRED' });
    await awaitApprovalStep(deps, requestId, 'token-1');
    await decide(deps, BOB, requestId, 'approve');
    const { expiresAt } = await grantStep(deps, requestId);
    const during = iam.policiesOf(arn.role('app-reader'));
    await revokeGrant(deps, requestId, 'system:expiry', 'expired');
    // Assess
    expect(workflow.started).toEqual([requestId]);
    expect(workflow.callbacks).toEqual([{ token: 'token-1', output: { decision: 'APPROVED' } }]);
    expect(expiresAt).toBe('2026-11-22T10:15:00Z');
    expect(JSON.parse(during[`jit-${requestId}`] ?? '{}').Statement[0].Condition).toEqual({
      DateLessThan: { 'aws:CurrentTime': expiresAt },
    });
    expect(iam.policiesOf(arn.role('app-reader'))).toEqual({});
    const events = await store.events(requestId);
    expect(events.map((e) => e.to)).toEqual([
      'REQUESTED',
      'PENDING_APPROVAL',
      'APPROVED',
      'GRANTED',
      'REVOKED',
    ]);
    expect(verifyChain(events)).toEqual({ ok: true });
    expect((await store.get(requestId))?.taskToken).toBeUndefined();
  });
});
