import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '#core/audit/chain.ts';
import { throttled } from '../../local/fakes/iam.ts';
import type { LocalBroker } from '../../local/runtime.ts';
import { evaluate } from '../support/iam-eval.ts';
import {
  APPROVER,
  arn,
  call,
  DEV,
  executionEnd,
  policiesOn,
  readRequest,
  startBroker,
  statuses,
  submit,
  waitForStatus,
} from './harness.ts';

const ROLE = arn.role('app-reader');
const OBJECT = 'arn:aws:s3:::app-data/reports/q3.csv';

/** IAM's verdict for the app-reader role holding exactly what the simulated account holds now. */
async function verdict(broker: LocalBroker, action: string, resource: string, at: Date) {
  return evaluate({
    principal: ROLE,
    inlinePolicies: policiesOn(broker, 'app-reader'),
    action,
    resource,
    at,
  });
}

describe('local runtime: request lifecycle on the synthesized state machine', () => {
  let broker: LocalBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('answers health and refuses a request without the local identity header', async () => {
    // Act
    const health = await call(broker, undefined, 'GET', '/_local/health');
    const anonymous = await call(broker, undefined, 'POST', '/requests', readRequest());
    // Assess
    expect(health).toMatchObject({ status: 200, body: { ok: true } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: { code: 'Unauthenticated' } });
  });

  it('grants exactly the asked permission for the window, then removes it', async () => {
    // Prepare
    const started = Date.now();
    const before = await verdict(broker, 's3:GetObject', OBJECT, new Date());
    // Act
    const id = await submit(broker, DEV('alice'), readRequest());
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    const approve = await call(broker, APPROVER('bob'), 'POST', `/requests/${id}/approve`, { comment: 'ok' });
    const granted = await waitForStatus(broker, id, 'GRANTED');
    const duringNow = new Date();
    const iamDuring = await call<{ principals: { arn: string; inlinePolicies: Record<string, unknown> }[] }>(
      broker,
      undefined,
      'GET',
      '/_local/iam',
    );
    const during = await verdict(broker, 's3:GetObject', OBJECT, duringNow);
    const otherAction = await verdict(broker, 's3:PutObject', OBJECT, duringNow);
    const otherResource = await verdict(
      broker,
      's3:GetObject',
      'arn:aws:s3:::app-data/secrets.txt',
      duringNow,
    );
    const otherBucket = await verdict(broker, 's3:GetObject', 'arn:aws:s3:::other/reports/q3.csv', duringNow);
    await waitForStatus(broker, id, 'REVOKED');
    const after = await verdict(broker, 's3:GetObject', OBJECT, new Date());
    const execution = await executionEnd(broker, id);
    const iamAfter = await call(broker, undefined, 'GET', '/_local/iam');
    const events = await broker.deps.store.events(id);
    const lifecycleMs = Date.now() - started;
    // Assess
    expect(before).toBe('ImplicitlyDenied');
    expect(approve).toMatchObject({ status: 200, body: { status: 'APPROVED' } });
    expect(iamDuring.body.principals).toEqual([
      { arn: ROLE, inlinePolicies: { [`jit-${id}`]: expect.objectContaining({ Version: '2012-10-17' }) } },
    ]);
    expect(during).toBe('Allowed');
    expect(otherAction).toBe('ImplicitlyDenied');
    expect(otherResource).toBe('ImplicitlyDenied');
    expect(otherBucket).toBe('ImplicitlyDenied');
    expect(after).toBe('ImplicitlyDenied');
    expect(iamAfter.body).toEqual({ principals: [], sessions: [] });
    expect(execution.status).toBe('SUCCEEDED');
    expect(events.map((e) => e.to)).toEqual([
      'REQUESTED',
      'PENDING_APPROVAL',
      'APPROVED',
      'GRANTED',
      'REVOKED',
    ]);
    expect(verifyChain(events)).toEqual({ ok: true });
    expect(granted.expiresAt).toMatch(/Z$/);
    expect(Date.parse(events.at(-1)?.at ?? '')).toBeGreaterThanOrEqual(Date.parse(granted.expiresAt ?? ''));
    console.info(`[measure] full policy lifecycle (3 s grant, API approval): ${lifecycleMs} ms`);
  });

  it('is still denied after expiresAt when the revoke step keeps failing, and ends REVOKE_FAILED', async () => {
    // Prepare: every delete of this request's policy fails, as if IAM were unreachable.
    const fault = { op: 'delete' as const, error: throttled, times: Number.POSITIVE_INFINITY };
    broker.iam.inject(fault);
    // Act
    const id = await submit(broker, DEV('dora'), readRequest({ durationSeconds: 2 }));
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    await call(broker, APPROVER('bob'), 'POST', `/requests/${id}/approve`, {});
    const granted = await waitForStatus(broker, id, 'GRANTED');
    const expiresAt = Date.parse(granted.expiresAt ?? '');
    await waitForStatus(broker, id, 'REVOKE_FAILED');
    const execution = await executionEnd(broker, id);
    fault.times = 0;
    const stillAttached = Object.keys(policiesOn(broker, 'app-reader'));
    const justBefore = await verdict(broker, 's3:GetObject', OBJECT, new Date(expiresAt - 1000));
    const atExpiry = await verdict(broker, 's3:GetObject', OBJECT, new Date(expiresAt));
    const now = await verdict(broker, 's3:GetObject', OBJECT, new Date());
    // Assess
    expect(stillAttached).toContain(`jit-${id}`);
    expect(justBefore).toBe('Allowed');
    expect(atExpiry).toBe('ImplicitlyDenied');
    expect(now).toBe('ImplicitlyDenied');
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.error).toBe('RevokeFailed');
    expect(await statuses(broker, id)).toEqual([
      'REQUESTED',
      'PENDING_APPROVAL',
      'APPROVED',
      'GRANTED',
      'REVOKE_FAILED',
    ]);
    // The sweeper (third layer) finishes the job once IAM answers again.
    // One second later, so expiresAt (to the second) is strictly before the sweeper's bound.
    await new Promise((r) => setTimeout(r, 1000));
    const swept = await broker.sweep();
    expect(swept).toMatchObject({ revoked: [id], failed: [] });
    expect(Object.keys(policiesOn(broker, 'app-reader'))).not.toContain(`jit-${id}`);
    expect((await broker.deps.store.events(id)).at(-1)).toMatchObject({
      from: 'REVOKE_FAILED',
      to: 'REVOKED',
      actor: 'system:sweeper',
    });
  });
});

describe('local runtime: loopback only', () => {
  it('refuses a request whose Host is not this machine (DNS rebinding)', async () => {
    // Prepare
    const broker = await startBroker();
    try {
      const { request } = await import('node:http');
      // Act
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          `${broker.url}/requests`,
          { method: 'GET', headers: { host: 'evil.example:80', 'x-jit-principal': DEV('alice') } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      const ok = await call(broker, DEV('alice'), 'GET', '/requests');
      // Assess
      expect(status).toBe(403);
      expect(ok.status).toBe(200);
    } finally {
      await broker.stop();
    }
  });
});
