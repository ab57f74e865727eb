import { describe, expect, it } from 'vitest';
import { verifyChain } from '#core/audit/chain.ts';
import { recordFirstUse, sessionRequestId } from '#core/audit/first-use.ts';
import { submitRequest } from '#core/requests/requests.ts';
import { grantStep, revokeGrant, validateStep } from '#core/workflow/steps.ts';
import { ALICE, approvedRequest, arn, fakeDeps, grantedRequest } from '../../../support/fakes.ts';
import {
  APP_READER_ID,
  CREDENTIALS_BODY,
  INLINE_BODY,
  OTHER_ACCOUNT,
  Q3,
  record,
  reviewConfig,
  ZIP,
} from './review-fixture.ts';

/** A credentials grant on `jit-release-prod` (granted at 10:00), and a record maker for its session. */
async function credentialsGrant() {
  const env = fakeDeps(reviewConfig());
  const { requestId } = await submitRequest(env.deps, ALICE, CREDENTIALS_BODY);
  await validateStep(env.deps, requestId);
  await grantStep(env.deps, requestId);
  const session = (await env.store.get(requestId))?.session;
  if (!session?.accessKeyId) throw new Error('no session');
  const own = (id: string, time: string, overrides: Partial<Parameters<typeof record>[0]> = {}) =>
    record({
      id,
      time,
      source: 's3',
      name: 'PutObject',
      data: true,
      arn: arn.assumed('jit-release-prod', session.sessionName),
      principalId: `${session.roleId}:${session.sessionName}`,
      accessKeyId: session.accessKeyId,
      ip: '203.0.113.10',
      resources: [ZIP],
      ...overrides,
    });
  return { ...env, requestId, session, own };
}

/** The FIRST_USED notes in a request's log. */
async function firstUseNotes(
  store: { events(id: string): Promise<{ details?: Readonly<Record<string, unknown>> }[]> },
  id: string,
) {
  return (await store.events(id)).filter((e) => e.details?.event === 'FIRST_USED');
}

describe('sessionRequestId', () => {
  it.each([
    [arn.assumed('jit-release-prod', 'jit-req-0042'), 'req-0042'],
    [arn.assumed('jit-release-prod', 'jit-'), undefined],
    [arn.assumed('app-reader', 'alice'), undefined],
    [arn.user('jit-req-0042'), undefined],
    [undefined, undefined],
  ])('reads the request id of %s as %s', (userArn, expected) => {
    // Act
    const id = sessionRequestId({ userIdentity: userArn ? { arn: userArn } : {} });
    // Assess
    expect(id).toBe(expected);
  });
});

describe('recordFirstUse', () => {
  it('records the first use once when ten matching records arrive at once', async () => {
    // Prepare
    const { deps, store, requestId, own } = await credentialsGrant();
    const records = Array.from({ length: 10 }, (_, i) =>
      own(`ev-${i}`, `10:02:${String(i).padStart(2, '0')}`),
    );
    // Act
    const outcomes = await Promise.all(records.map((r) => recordFirstUse(deps, r)));
    // Assess
    expect(outcomes.filter((o) => o === 'recorded')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'already')).toHaveLength(9);
    const notes = await firstUseNotes(store, requestId);
    expect(notes).toHaveLength(1);
    const winner = records[outcomes.indexOf('recorded')];
    expect(notes[0]?.details).toEqual({
      event: 'FIRST_USED',
      at: winner?.eventTime,
      action: 's3:PutObject',
      eventId: winner?.eventId,
      via: 'eventbridge',
      sourceIp: '203.0.113.10',
      userAgent: 'aws-cli/2.17.0',
    });
    const request = await store.get(requestId);
    expect(request).toMatchObject({
      status: 'GRANTED',
      firstUsedAt: winner?.eventTime,
      firstUsedFrom: '203.0.113.10',
    });
    expect(verifyChain(await store.events(requestId), request)).toEqual({ ok: true });
  });

  it('answers already to a later record and writes nothing more', async () => {
    // Prepare
    const { deps, store, requestId, own } = await credentialsGrant();
    await recordFirstUse(deps, own('ev-1', '10:02:00'));
    const before = (await store.events(requestId)).length;
    // Act
    const outcome = await recordFirstUse(deps, own('ev-2', '10:03:00'));
    // Assess
    expect(outcome).toBe('already');
    expect(await store.events(requestId)).toHaveLength(before);
    expect((await store.get(requestId))?.firstUsedAt).toBe('2026-11-22T10:02:00Z');
  });

  it('records a record of the session made with another access key (aws:userid matches)', async () => {
    // Prepare
    const { deps, store, requestId, own } = await credentialsGrant();
    // Act
    const outcome = await recordFirstUse(
      deps,
      own('ev-1', '10:02:00', { accessKeyId: 'ASIAANOTHERKEY000001' }),
    );
    // Assess
    expect(outcome).toBe('recorded');
    expect(await firstUseNotes(store, requestId)).toHaveLength(1);
  });

  it('ignores a record naming an unknown session', async () => {
    // Prepare
    const { deps, store, requestId, own } = await credentialsGrant();
    const before = (await store.events(requestId)).length;
    // Act
    const outcome = await recordFirstUse(
      deps,
      own('ev-1', '10:02:00', { arn: arn.assumed('jit-release-prod', 'jit-req-9999') }),
    );
    // Assess
    expect(outcome).toBe('ignored');
    expect(await store.events(requestId)).toHaveLength(before);
  });

  it.each([
    [
      'the same session name in another account',
      (s: { roleId: string; sessionName: string }) => ({
        account: OTHER_ACCOUNT,
        arn: `arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/jit-release-prod/${s.sessionName}`,
        principalId: `AROAOTHERACCOUNTROLE:${s.sessionName}`,
        accessKeyId: 'ASIAOTHERACCOUNT0001',
      }),
    ],
    [
      'the same session name with another role id and key',
      (s: { roleId: string; sessionName: string }) => ({
        principalId: `AROARECREATEDROLE0001:${s.sessionName}`,
        accessKeyId: 'ASIARECREATEDROLE001',
      }),
    ],
    [
      'the same role id and key presented in another account',
      (s: { roleId: string; sessionName: string }) => ({
        account: OTHER_ACCOUNT,
        principalId: `${s.roleId}:${s.sessionName}`,
      }),
    ],
  ])('ignores a record of a foreign session: %s', async (_case, foreign) => {
    // Prepare
    const { deps, store, requestId, session, own } = await credentialsGrant();
    // Act
    const outcome = await recordFirstUse(deps, own('ev-1', '10:02:00', foreign(session)));
    // Assess
    expect(outcome).toBe('ignored');
    expect(await firstUseNotes(store, requestId)).toHaveLength(0);
    expect((await store.get(requestId))?.firstUsedAt).toBeUndefined();
  });

  it('records the first use of an inline grant by its request id (the review path)', async () => {
    // Prepare
    const { deps, store } = fakeDeps(reviewConfig());
    const id = await grantedRequest(deps, INLINE_BODY);
    const call = record({
      id: 'i-1',
      time: '10:00:30',
      source: 's3',
      name: 'GetObject',
      data: true,
      arn: arn.assumed('app-reader', 'alice'),
      principalId: `${APP_READER_ID}:alice`,
      resources: [Q3],
    });
    // Act
    const bySession = await recordFirstUse(deps, call);
    const byId = await recordFirstUse(deps, call, id);
    const again = await recordFirstUse(deps, call, id);
    // Assess
    expect([bySession, byId, again]).toEqual(['ignored', 'recorded', 'already']);
    const notes = await firstUseNotes(store, id);
    expect(notes.map((n) => n.details)).toEqual([
      expect.objectContaining({
        via: 'review',
        eventId: 'i-1',
        action: 's3:GetObject',
        at: '2026-11-22T10:00:30Z',
      }),
    ]);
  });

  it('records the first use of a revoked grant (the review runs after the revoke)', async () => {
    // Prepare
    const { deps, store, requestId, own } = await credentialsGrant();
    await revokeGrant(deps, requestId, 'system:expiry', 'TTL reached');
    // Act
    const outcome = await recordFirstUse(deps, own('ev-1', '10:02:00'));
    // Assess
    expect(outcome).toBe('recorded');
    expect(await store.get(requestId)).toMatchObject({
      status: 'REVOKED',
      firstUsedAt: '2026-11-22T10:02:00Z',
    });
  });

  it('ignores a request that is not granted yet', async () => {
    // Prepare: an approved inline request, and an auto-approved credentials request with no session yet.
    const { deps, store } = fakeDeps(reviewConfig());
    const approved = await approvedRequest(deps, INLINE_BODY);
    const { requestId: credentials } = await submitRequest(deps, ALICE, CREDENTIALS_BODY);
    await validateStep(deps, credentials);
    const call = (who: string) =>
      record({ id: 'x', time: '10:00:30', source: 's3', name: 'GetObject', arn: who, resources: [Q3] });
    // Act
    const byId = await recordFirstUse(deps, call(arn.assumed('app-reader', 'alice')), approved);
    const bySession = await recordFirstUse(deps, call(arn.assumed('jit-release-prod', `jit-${credentials}`)));
    // Assess
    expect([byId, bySession]).toEqual(['ignored', 'ignored']);
    expect((await store.get(approved))?.status).toBe('APPROVED');
    expect((await store.get(credentials))?.status).toBe('APPROVED');
    expect(await firstUseNotes(store, approved)).toHaveLength(0);
    expect(await firstUseNotes(store, credentials)).toHaveLength(0);
  });

  it('ignores an unknown request id', async () => {
    // Prepare
    const { deps } = fakeDeps(reviewConfig());
    const call = record({
      id: 'x',
      time: '10:00:30',
      source: 's3',
      name: 'GetObject',
      arn: arn.assumed('a', 'b'),
    });
    // Act
    const outcome = await recordFirstUse(deps, call, 'req-9999');
    // Assess
    expect(outcome).toBe('ignored');
  });
});
