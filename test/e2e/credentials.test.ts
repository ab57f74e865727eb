import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '#core/audit/chain.ts';
import type { SimulatedSession } from '../../local/fakes/sts.ts';
import type { LocalBroker } from '../../local/runtime.ts';
import { evaluateSession } from '../support/iam-eval.ts';
import {
  arn,
  call,
  DEV,
  e2eConfig,
  executionEnd,
  startBroker,
  statuses,
  submit,
  waitForStatus,
} from './harness.ts';

const ROLE = 'jit-release-prod';
const OBJECT = 'arn:aws:s3:::release-artifacts/app/v42.zip';
/** What the role itself may do (the session policy narrows it per request). */
const ROLE_BASE = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::release-artifacts/*'] }],
});

function credentialsRequest(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'credentials',
    target: arn.role(ROLE),
    permissions: [{ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::release-artifacts/app/*'] }],
    durationSeconds: 2,
    reason: 'ship release 42',
    ticket: 'REL-42',
    ...overrides,
  };
}

describe('local runtime: STS credentials grants and live-session revocation', () => {
  let broker: LocalBroker;
  const rolePolicies = () => broker.iam.policiesOf(arn.role(ROLE));
  const as = (session: SimulatedSession, action: string, resource: string, at = new Date()) =>
    evaluateSession({ session, rolePolicies: rolePolicies(), action, resource, at });

  beforeAll(async () => {
    const config = e2eConfig();
    broker = await startLocalBroker(config);
    await broker.iam.putPolicy({ account: '111122223333', type: 'role', name: ROLE }, 'base', ROLE_BASE);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  async function startLocalBroker(config: ReturnType<typeof e2eConfig>) {
    return startBroker(
      {
        ...config,
        rules: [
          ...config.rules,
          {
            id: 'release',
            kind: 'credentials',
            requesters: [DEV('*')],
            targets: [arn.role('jit-release-*')],
            actions: ['s3:PutObject', 's3:GetObject'],
            resources: ['arn:aws:s3:::release-artifacts/*'],
            maxDurationSeconds: 3600,
            approval: 'auto',
          },
        ],
      },
      // 900 s STS credentials live 6 s here: long enough to outlive a 2 s window, short enough to wait for.
      { sessionLifetimeScale: 6 / 900 },
    );
  }

  it('issues a scoped session, hands the credentials over once, and kills the session at revoke', async () => {
    // Prepare: a session of the same role issued outside the broker, which must survive our revoke.
    const outside = await broker.sts.assumeRole({
      roleArn: arn.role(ROLE),
      sessionName: 'manual-deploy',
      sourceIdentity: 'operator',
      tags: {},
      durationSeconds: 3600,
      policy: ROLE_BASE,
    });
    const outsideSession = broker.sts.sessions.find(
      (s) => s.accessKeyId === outside.AccessKeyId,
    ) as SimulatedSession;
    // Act
    const id = await submit(broker, DEV('alice'), credentialsRequest());
    const granted = await waitForStatus(broker, id, 'GRANTED');
    const session = broker.sts.sessions.find((s) => s.userId.endsWith(`:jit-${id}`)) as SimulatedSession;
    const stranger = await call(broker, DEV('mallory'), 'GET', `/requests/${id}/credentials`);
    const collected = await call<Record<string, unknown>>(
      broker,
      DEV('alice'),
      'GET',
      `/requests/${id}/credentials`,
    );
    const again = await call(broker, DEV('alice'), 'GET', `/requests/${id}/credentials`);
    const afterCollection = await broker.deps.store.get(id);
    const during = await as(session, 's3:PutObject', OBJECT);
    const otherAction = await as(session, 's3:DeleteObject', OBJECT);
    const otherResource = await as(session, 's3:PutObject', 'arn:aws:s3:::release-artifacts/db/dump.sql');
    await waitForStatus(broker, id, 'REVOKED');
    const afterRevoke = new Date();
    const denyAttached = rolePolicies()[`jit-${id}`];
    const revokedSession = await as(session, 's3:PutObject', OBJECT, afterRevoke);
    const outsideAfterRevoke = await as(outsideSession, 's3:PutObject', OBJECT, afterRevoke);
    const execution = await executionEnd(broker, id);
    const afterCleanup = new Date();
    const cleanedSession = await as(session, 's3:PutObject', OBJECT, afterCleanup);
    const outsideAfterCleanup = await as(outsideSession, 's3:PutObject', OBJECT, afterCleanup);
    const events = await broker.deps.store.events(id);
    // Assess
    expect(session).toMatchObject({
      sourceIdentity: 'alice',
      tags: { 'jit:request-id': id, 'jit:ticket': 'REL-42' },
    });
    expect(session.sessionPolicy).toMatchObject({
      Statement: [{ Condition: { DateLessThan: { 'aws:CurrentTime': granted.expiresAt } } }],
    });
    expect(stranger.status).toBe(403);
    expect(collected.status).toBe(200);
    expect(collected.body).toMatchObject({
      Version: 1,
      AccessKeyId: session.accessKeyId,
      Expiration: session.expiresAt,
    });
    expect(Object.keys(collected.body).sort()).toEqual([
      'AccessKeyId',
      'Expiration',
      'SecretAccessKey',
      'SessionToken',
      'Version',
    ]);
    expect(again).toMatchObject({ status: 410, body: { error: { code: 'AlreadyCollected' } } });
    expect(afterCollection?.sealedCredentials).toBeUndefined();
    expect(during).toBe('Allowed');
    expect(otherAction).toBe('ImplicitlyDenied');
    expect(otherResource).toBe('ImplicitlyDenied');
    expect(afterRevoke.getTime()).toBeLessThan(Date.parse(session.expiresAt));
    expect(JSON.parse(denyAttached ?? '{}')).toMatchObject({
      Statement: [{ Effect: 'Deny', Condition: { StringEquals: { 'aws:userid': session.userId } } }],
    });
    expect(revokedSession).toBe('ExplicitlyDenied');
    expect(outsideAfterRevoke).toBe('Allowed');
    expect(execution.status).toBe('SUCCEEDED');
    expect(rolePolicies()[`jit-${id}`]).toBeUndefined();
    expect(cleanedSession).toBe('CredentialsExpired');
    expect(outsideAfterCleanup).toBe('Allowed');
    expect(events.map((e) => e.to)).toEqual([
      'REQUESTED',
      'APPROVED',
      'GRANTED',
      'GRANTED',
      'REVOKED',
      'REVOKED',
    ]);
    expect(events[3]?.details).toEqual({ event: 'CREDENTIALS_COLLECTED' });
    expect(events[4]?.details).toMatchObject({
      sessionDenied: session.userId,
      method: 'session',
      verified: true,
    });
    expect(events[5]?.details).toMatchObject({ event: 'SESSION_DENY_REMOVED', removed: true });
    expect(verifyChain(events)).toEqual({ ok: true });
  });

  it('revokes a live session early on request', async () => {
    // Act
    const id = await submit(broker, DEV('bob'), credentialsRequest({ durationSeconds: 60 }));
    await waitForStatus(broker, id, 'GRANTED');
    const session = broker.sts.sessions.find((s) => s.userId.endsWith(`:jit-${id}`)) as SimulatedSession;
    const before = await as(session, 's3:PutObject', OBJECT);
    const revoke = await call(broker, DEV('bob'), 'POST', `/requests/${id}/revoke`, {
      reason: 'incident over',
    });
    const after = await as(session, 's3:PutObject', OBJECT);
    const collect = await call(broker, DEV('bob'), 'GET', `/requests/${id}/credentials`);
    // Assess
    expect(before).toBe('Allowed');
    expect(revoke).toMatchObject({ status: 202, body: { status: 'REVOKED' } });
    expect(after).toBe('ExplicitlyDenied');
    expect(collect.status).toBe(410);
  });

  it('ends GRANT_FAILED with the trust-policy reason when the role does not admit the broker', async () => {
    // Prepare
    broker.sts.untrust('jit-release-locked');
    // Act
    const id = await submit(
      broker,
      DEV('dan'),
      credentialsRequest({ target: arn.role('jit-release-locked') }),
    );
    await waitForStatus(broker, id, 'GRANT_FAILED');
    const events = await broker.deps.store.events(id);
    // Assess
    expect(await statuses(broker, id)).toEqual(['REQUESTED', 'APPROVED', 'GRANT_FAILED']);
    expect(events.at(-1)?.details).toMatchObject({
      error: { error: 'TrustPolicyError', cause: expect.stringContaining('sts:SetSourceIdentity') },
      sessionIssued: false,
    });
    expect(broker.iam.policiesOf(arn.role('jit-release-locked'))).toEqual({});
  });

  it('refuses credentials for longer than role chaining allows, naming the field', async () => {
    // Act
    const reply = await call(
      broker,
      DEV('alice'),
      'POST',
      '/requests',
      credentialsRequest({ durationSeconds: 7200 }),
    );
    // Assess
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error: { details: [{ field: 'durationSeconds' }] } });
    expect(JSON.stringify(reply.body)).toContain('3600');
  });
});
