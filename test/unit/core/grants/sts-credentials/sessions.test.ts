import { describe, expect, it } from 'vitest';
import { GoneError, InvalidRequestError } from '#core/errors.ts';
import {
  olderSessionsDenyPolicy,
  sessionDenyPolicy,
  sessionName,
  sessionTags,
  sourceIdentity,
  stsDurationSeconds,
} from '#core/grants/sts-credentials/sessions.ts';
import { validateRequest } from '#core/policy/validate.ts';
import { collectCredentials } from '#core/requests/collect-credentials.ts';
import { submitRequest } from '#core/requests/requests.ts';
import { grantStep, revokeGrant, validateStep } from '#core/workflow/steps.ts';
import {
  ALICE,
  arn,
  BOB,
  CREDENTIALS_RULE,
  credentialsConfig,
  fakeDeps,
  testConfig,
} from '../../../../support/fakes.ts';

const credentialsRule = CREDENTIALS_RULE;
const config = credentialsConfig;

function body(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'credentials',
    target: arn.role('jit-release-prod'),
    permissions: [{ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::release/app/*'] }],
    durationSeconds: 600,
    reason: 'ship it',
    ...overrides,
  };
}

describe('STS session parameters', () => {
  it.each([
    [1, 900],
    [600, 900],
    [900, 900],
    [901, 901],
    [1800.2, 1801],
    [3600, 3600],
    [7200, 3600],
  ])('asks STS for %s s of window as DurationSeconds %s', (window, expected) => {
    // Act
    const duration = stsDurationSeconds(window);
    // Assess
    expect(duration).toBe(expected);
  });

  it('caps DurationSeconds by a shorter role maximum', () => {
    // Act
    const duration = stsDurationSeconds(3000, 1200);
    // Assess
    expect(duration).toBe(1200);
  });

  it('names the session jit-<id> within 64 characters of STS charset', () => {
    // Act
    const plain = sessionName('0f8a6c2e-1b7e-4a55-9f11-6a9d64a1c0de');
    const odd = sessionName(`a b/c:${'x'.repeat(80)}`);
    // Assess
    expect(plain).toBe('jit-0f8a6c2e-1b7e-4a55-9f11-6a9d64a1c0de');
    expect(odd).toMatch(/^[\w+=,.@-]{2,64}$/);
    expect(odd).toHaveLength(64);
  });

  it.each([
    ['arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Dev_1a2b/alice@example.com', 'alice@example.com'],
    ['arn:aws:iam::111122223333:user/ops/bob', 'bob'],
    ['arn:aws:sts::111122223333:assumed-role/R/j o:h#n', 'j-o-h-n'],
    ['arn:aws:sts::111122223333:assumed-role/R/x', 'jit-x'],
    [`arn:aws:sts::111122223333:assumed-role/R/${'y'.repeat(100)}`, 'y'.repeat(64)],
  ])('derives SourceIdentity of %s as %s', (requester, expected) => {
    // Act
    const identity = sourceIdentity(requester);
    // Assess
    expect(identity).toBe(expected);
    expect(identity).toMatch(/^[\w+=,.@-]{2,64}$/);
  });

  it('tags the session with request id, requester and ticket in STS tag charset', () => {
    // Act
    const tags = sessionTags({ requestId: 'r-1', requester: ALICE, ticket: 'INC#42 (prod)' });
    // Assess
    expect(tags).toEqual({ 'jit:request-id': 'r-1', 'jit:requester': ALICE, 'jit:ticket': 'INC_42 _prod_' });
  });

  it('aims the session deny at exactly one aws:userid, and the fallback at JIT sessions issued before', () => {
    // Act
    const one = sessionDenyPolicy('AROAEXAMPLE', 'jit-r-1');
    const older = olderSessionsDenyPolicy('AROAEXAMPLE', '2026-11-25T10:00:00Z');
    // Assess
    expect(one.Statement[0]).toMatchObject({
      Effect: 'Deny',
      Action: '*',
      Condition: { StringEquals: { 'aws:userid': 'AROAEXAMPLE:jit-r-1' } },
    });
    expect(older.Statement[0]?.Condition).toEqual({
      StringLike: { 'aws:userid': 'AROAEXAMPLE:jit-*' },
      DateLessThan: { 'aws:TokenIssueTime': '2026-11-25T10:00:00Z' },
    });
  });
});

describe('credentials requests', () => {
  it('refuses a session policy larger than STS allows, naming permissions', () => {
    // Prepare: 40 long resources push the session policy past 2,048 characters.
    const resources = Array.from({ length: 40 }, (_, i) => `arn:aws:s3:::release/app/${'p'.repeat(30)}-${i}`);
    // Act
    const act = () =>
      validateRequest(body({ permissions: [{ actions: ['s3:PutObject'], resources }] }), ALICE, config());
    // Assess
    expect(act).toThrow(InvalidRequestError);
    expect(act).toThrow(/session policy/);
    try {
      act();
    } catch (error) {
      expect((error as InvalidRequestError).details?.[0]?.field).toBe('permissions');
    }
  });

  it('refuses credentials on a user target and a policy request on a credentials-only role', () => {
    // Act
    const onUser = () => validateRequest(body({ target: arn.user('svc-a') }), ALICE, config());
    const policyOnCredRole = () => validateRequest(body({ kind: 'policy' }), ALICE, config());
    // Assess
    expect(onUser).toThrow(/credentials grants need a role/);
    expect(policyOnCredRole).toThrow(
      expect.objectContaining({
        details: [
          expect.objectContaining({ field: 'target', message: expect.stringMatching(/^no policy rule/) }),
        ],
      }),
    );
  });

  it('refuses a credentials rule longer than role chaining allows at config time', () => {
    // Act
    const act = () => testConfig({ rules: [{ ...credentialsRule, maxDurationSeconds: 7200 }] });
    // Assess
    expect(act).toThrow(/rules\[0\]\.maxDurationSeconds: credentials rules are capped at 3600/);
  });

  it('hands the credentials to the requester once and keeps nothing of them afterwards', async () => {
    // Prepare
    const { deps, store, sts } = fakeDeps(config());
    const { requestId } = await submitRequest(deps, ALICE, body());
    await validateStep(deps, requestId);
    await grantStep(deps, requestId);
    // Act
    const stranger = collectCredentials(deps, BOB, requestId);
    const first = await collectCredentials(deps, ALICE, requestId);
    const second = collectCredentials(deps, ALICE, requestId);
    const stored = await store.get(requestId);
    // Assess
    await expect(stranger).rejects.toThrow(/only the requester/);
    expect(first).toMatchObject({ Version: 1, AccessKeyId: sts.sessions[0]?.accessKeyId });
    await expect(second).rejects.toBeInstanceOf(GoneError);
    expect(stored?.sealedCredentials).toBeUndefined();
    expect(JSON.stringify(stored)).not.toContain(first.SecretAccessKey);
    expect(JSON.stringify(await store.events(requestId))).not.toContain(first.SecretAccessKey);
  });

  it('discards uncollected credentials at revoke', async () => {
    // Prepare
    const { deps, store } = fakeDeps(config());
    const { requestId } = await submitRequest(deps, ALICE, body());
    await validateStep(deps, requestId);
    await grantStep(deps, requestId);
    const sealed = (await store.get(requestId))?.sealedCredentials;
    // Act
    await revokeGrant(deps, requestId, 'system:expiry', 'expired');
    const collect = collectCredentials(deps, ALICE, requestId);
    // Assess
    expect(sealed).toEqual(expect.any(String));
    expect((await store.get(requestId))?.sealedCredentials).toBeUndefined();
    await expect(collect).rejects.toBeInstanceOf(GoneError);
  });

  it('asks STS for the rounded duration, the session name, source identity and the expiring session policy', async () => {
    // Prepare
    const { deps, sts } = fakeDeps(config());
    const { requestId } = await submitRequest(deps, ALICE, body({ durationSeconds: 600, ticket: 'REL-1' }));
    await validateStep(deps, requestId);
    // Act
    const { expiresAt } = await grantStep(deps, requestId);
    const session = sts.sessions[0];
    // Assess
    expect(session).toMatchObject({
      userId: expect.stringMatching(new RegExp(`^AROA[0-9A-F]{17}:jit-${requestId}$`)),
      sourceIdentity: 'alice',
      tags: { 'jit:request-id': requestId, 'jit:requester': ALICE, 'jit:ticket': 'REL-1' },
    });
    expect(Date.parse(session?.expiresAt ?? '') - Date.parse(session?.issuedAt ?? '')).toBe(900_000);
    expect(session?.sessionPolicy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Jit0',
          Effect: 'Allow',
          Action: ['s3:PutObject'],
          Resource: ['arn:aws:s3:::release/app/*'],
          Condition: { DateLessThan: { 'aws:CurrentTime': expiresAt } },
        },
      ],
    });
  });
});
