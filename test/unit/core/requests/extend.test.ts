import { describe, expect, it } from 'vitest';
import { verifyChain } from '#core/audit/chain.ts';
import {
  type BrokerError,
  ConflictError,
  ExtensionLapsedError,
  ForbiddenError,
  InvalidRequestError,
  NotEligibleError,
  SelfApprovalError,
} from '#core/errors.ts';
import type { PolicyConfigInput } from '#core/policy/config.ts';
import { extendRequest, widerThan } from '#core/requests/extend.ts';
import { decide } from '#core/requests/requests.ts';
import {
  awaitApprovalStep,
  compensateGrant,
  grantStep,
  revokeGrant,
  validateStep,
} from '#core/workflow/steps.ts';
import {
  ALICE,
  BOB,
  CREDENTIALS_RULE,
  fakeDeps,
  grantedRequest,
  testConfig,
  testConfigInput,
} from '../../../support/fakes.ts';

/** The test config with `extension` settings on the app-read rule (and the credentials rule). */
function configWith(extension: Record<string, unknown>) {
  const input = testConfigInput();
  const [appRead, ...rest] = input.rules;
  return testConfig({
    rules: [
      { ...appRead, extension } as PolicyConfigInput['rules'][number],
      ...rest,
      { ...CREDENTIALS_RULE, extension },
    ],
  });
}

const asked = (overrides: Record<string, unknown> = {}) => ({
  durationSeconds: 900,
  reasonCode: 'work-not-finished',
  reason: 'the export is still running',
  ...overrides,
});

/** Runs `act` and returns the BrokerError it threw (fails the test when it does not throw). */
async function refusal(act: () => Promise<unknown>): Promise<BrokerError> {
  try {
    await act();
  } catch (error) {
    return error as BrokerError;
  }
  throw new Error('expected a refusal');
}

/** Takes an extension through Validate, AwaitApproval, an approval by BOB and Grant. */
async function grantChild(env: ReturnType<typeof fakeDeps>, id: string) {
  expect((await validateStep(env.deps, id)).outcome).toBe('APPROVAL_REQUIRED');
  await awaitApprovalStep(env.deps, id, `token-${id}`);
  await decide(env.deps, BOB, id, 'approve');
  return grantStep(env.deps, id);
}

describe('extendRequest', () => {
  it('records a child that extends the grant, notes it on the parent and starts its workflow', async () => {
    // Prepare
    const env = fakeDeps();
    const parent = await grantedRequest(env.deps);
    env.clock.advance(700);
    // Act
    const result = await extendRequest(env.deps, ALICE, parent, asked());
    // Assess
    expect(result).toEqual({ requestId: 'req-0002', status: 'REQUESTED', extends: parent });
    expect(env.workflow.started).toContain('req-0002');
    const child = await env.store.get('req-0002');
    expect(child).toMatchObject({
      extends: parent,
      reasonCode: 'work-not-finished',
      ruleId: 'app-read',
      target: (await env.store.get(parent))?.target,
      chainEndsBy: '2026-11-22T12:00:00.000Z',
    });
    const parentNow = await env.store.get(parent);
    expect(parentNow).toMatchObject({ status: 'GRANTED', extendedBy: 'req-0002' });
    const events = await env.store.events(parent);
    expect(events.at(-1)).toMatchObject({
      from: 'GRANTED',
      to: 'GRANTED',
      actor: ALICE,
      details: { extendedBy: 'req-0002', reasonCode: 'work-not-finished' },
    });
    expect(verifyChain(events, parentNow)).toEqual({ ok: true });
    expect((await env.store.events('req-0002'))[0]).toMatchObject({ details: { extends: parent } });
  });

  it('refuses before the openAt share of the TTL, naming openAt', async () => {
    // Prepare
    const env = fakeDeps();
    const parent = await grantedRequest(env.deps);
    env.clock.advance(600);
    // Act
    const error = await refusal(() => extendRequest(env.deps, ALICE, parent, asked()));
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'NotExtendable', details: [{ field: 'openAt' }] });
    expect(env.workflow.started).toEqual([parent]);
  });

  it('refuses after the grant has ended, naming the request', async () => {
    // Prepare
    const env = fakeDeps();
    const parent = await grantedRequest(env.deps);
    env.clock.advance(900);
    const expired = await refusal(() => extendRequest(env.deps, ALICE, parent, asked()));
    await revokeGrant(env.deps, parent, 'system:expiry', 'TTL reached');
    // Act
    const revoked = await refusal(() => extendRequest(env.deps, ALICE, parent, asked()));
    // Assess
    for (const error of [expired, revoked]) {
      expect(error).toMatchObject({ code: 'NotExtendable', details: [{ field: 'id' }] });
      expect(error.message).toContain('request access anew');
    }
  });

  it('refuses more than maxExtensions, naming maxExtensions', async () => {
    // Prepare
    const env = fakeDeps(configWith({ maxExtensions: 1, openAt: 0 }));
    const parent = await grantedRequest(env.deps);
    const { requestId: child } = await extendRequest(env.deps, ALICE, parent, asked());
    await grantChild(env, child);
    // Act
    const error = await refusal(() => extendRequest(env.deps, ALICE, child, asked()));
    // Assess
    expect(error).toMatchObject({ code: 'NotExtendable', details: [{ field: 'maxExtensions' }] });
  });

  it('refuses a chain longer than twice the rule maximum, naming durationSeconds', async () => {
    // Prepare: a 3600 s grant, extended at 2700 s by 3600 s (the chain may end by 7200 s).
    const env = fakeDeps();
    const parent = await grantedRequest(env.deps, {
      target: 'arn:aws:iam::111122223333:role/app-reader',
      permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/reports/*'] }],
      durationSeconds: 3600,
      reason: 'long export',
    });
    env.clock.advance(2700);
    const { requestId: child } = await extendRequest(
      env.deps,
      ALICE,
      parent,
      asked({ durationSeconds: 3600 }),
    );
    await grantChild(env, child);
    env.clock.advance(2700);
    // Act: at 5400 s only 1800 s are left.
    const error = await refusal(() =>
      extendRequest(env.deps, ALICE, child, asked({ durationSeconds: 3600 })),
    );
    const within = await extendRequest(env.deps, ALICE, child, asked({ durationSeconds: 1800 }));
    // Assess
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.details).toEqual([{ field: 'durationSeconds', message: expect.stringContaining('1800 s') }]);
    expect(within.extends).toBe(child);
  });

  it('refuses wider permissions than the grant, naming the permission', async () => {
    // Prepare
    const env = fakeDeps(configWith({ openAt: 0 }));
    const parent = await grantedRequest(env.deps);
    // Act: the rule allows ListBucket on the bucket, the grant does not hold it.
    const error = await refusal(() =>
      extendRequest(
        env.deps,
        ALICE,
        parent,
        asked({ permissions: [{ actions: ['s3:ListBucket'], resources: ['arn:aws:s3:::app-data'] }] }),
      ),
    );
    const narrower = await extendRequest(
      env.deps,
      ALICE,
      parent,
      asked({
        permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/reports/q3.csv'] }],
      }),
    );
    // Assess
    expect(error).toBeInstanceOf(NotEligibleError);
    expect(error.details).toEqual([{ field: 'permissions[0].actions[0]', message: expect.any(String) }]);
    expect((await env.store.get(narrower.requestId))?.permissions).toEqual([
      { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/reports/q3.csv'] },
    ]);
  });

  it('refuses an unknown reason code, anyone but the requester, and a second open extension', async () => {
    // Prepare
    const env = fakeDeps(configWith({ openAt: 0, reasonCodes: ['deploy-running'] }));
    const parent = await grantedRequest(env.deps);
    // Act
    const badCode = await refusal(() => extendRequest(env.deps, ALICE, parent, asked()));
    const stranger = await refusal(() =>
      extendRequest(env.deps, BOB, parent, asked({ reasonCode: 'deploy-running' })),
    );
    await extendRequest(env.deps, ALICE, parent, asked({ reasonCode: 'deploy-running' }));
    const second = await refusal(() =>
      extendRequest(env.deps, ALICE, parent, asked({ reasonCode: 'deploy-running' })),
    );
    // Assess
    expect(badCode).toMatchObject({ code: 'InvalidRequest', details: [{ field: 'reasonCode' }] });
    expect(stranger).toBeInstanceOf(ForbiddenError);
    expect(second).toMatchObject({ code: 'NotExtendable', details: [{ field: 'extendedBy' }] });
  });
});

describe('an extension in the workflow', () => {
  it('is decided by the rule: the requester cannot approve it', async () => {
    // Prepare
    const env = fakeDeps(configWith({ openAt: 0 }));
    const parent = await grantedRequest(env.deps);
    const { requestId: child } = await extendRequest(env.deps, ALICE, parent, asked());
    await validateStep(env.deps, child);
    await awaitApprovalStep(env.deps, child, 'token-child');
    // Act
    const error = await refusal(() => decide(env.deps, ALICE, child, 'approve'));
    // Assess
    expect(error).toBeInstanceOf(SelfApprovalError);
    expect((await env.store.get(child))?.status).toBe('PENDING_APPROVAL');
  });

  it("is approved at once when the rule's extension approval is auto", async () => {
    // Prepare
    const env = fakeDeps(configWith({ openAt: 0, approval: 'auto' }));
    const parent = await grantedRequest(env.deps);
    const { requestId: child } = await extendRequest(env.deps, ALICE, parent, asked());
    // Act
    const { outcome } = await validateStep(env.deps, child);
    // Assess
    expect(outcome).toBe('AUTO_APPROVED');
  });

  it('writes its own policy beside the parent, each with its own expiry', async () => {
    // Prepare
    const env = fakeDeps(configWith({ openAt: 0 }));
    const parent = await grantedRequest(env.deps);
    env.clock.advance(600);
    const { requestId: child } = await extendRequest(env.deps, ALICE, parent, asked());
    // Act
    const { expiresAt } = await grantChild(env, child);
    // Assess
    const held = Object.keys(env.iam.policiesOf('arn:aws:iam::111122223333:role/app-reader')).sort();
    expect(held).toEqual([`jit-${parent}`, `jit-${child}`]);
    expect(expiresAt).toBe('2026-11-22T10:25:00Z');
    expect((await env.store.get(parent))?.expiresAt).toBe('2026-11-22T10:15:00Z');
  });

  it('grants nothing when the parent ended before the approval, and records why', async () => {
    // Prepare
    const env = fakeDeps(configWith({ openAt: 0 }));
    const parent = await grantedRequest(env.deps);
    const { requestId: child } = await extendRequest(env.deps, ALICE, parent, asked());
    await validateStep(env.deps, child);
    await awaitApprovalStep(env.deps, child, 'token-child');
    env.clock.advance(900);
    await revokeGrant(env.deps, parent, 'system:expiry', 'TTL reached');
    await decide(env.deps, BOB, child, 'approve');
    // Act
    const error = await refusal(() => grantStep(env.deps, child));
    const compensated = await compensateGrant(env.deps, child, {
      Error: error.name,
      Cause: error.message,
    });
    // Assess
    expect(error).toBeInstanceOf(ExtensionLapsedError);
    expect(compensated.status).toBe('GRANT_FAILED');
    expect(env.iam.policiesOf('arn:aws:iam::111122223333:role/app-reader')).toEqual({});
  });

  it('shortens its window so the chain ends by twice the rule maximum', async () => {
    // Prepare: a 3600 s grant from 10:00 (the chain may end by 12:00), extended at 10:45 by 3600 s; that
    // extension extended at 11:30 by 1800 s, approved at 11:31:40.
    const env = fakeDeps(configWith({ openAt: 0 }));
    const parent = await grantedRequest(env.deps, {
      target: 'arn:aws:iam::111122223333:role/app-reader',
      permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/reports/*'] }],
      durationSeconds: 3600,
      reason: 'long export',
    });
    env.clock.advance(2700);
    const { requestId: child } = await extendRequest(
      env.deps,
      ALICE,
      parent,
      asked({ durationSeconds: 3600 }),
    );
    await grantChild(env, child);
    env.clock.advance(2700);
    const { requestId: grandchild } = await extendRequest(
      env.deps,
      ALICE,
      child,
      asked({ durationSeconds: 1800 }),
    );
    await validateStep(env.deps, grandchild);
    await awaitApprovalStep(env.deps, grandchild, 'token-grandchild');
    env.clock.advance(100);
    await decide(env.deps, BOB, grandchild, 'approve');
    // Act
    const { expiresAt } = await grantStep(env.deps, grandchild);
    // Assess
    expect(expiresAt).toBe('2026-11-22T12:00:00Z');
  });

  it('gives a credentials child fresh credentials of its own', async () => {
    // Prepare
    const env = fakeDeps(configWith({ openAt: 0 }));
    const body = {
      kind: 'credentials',
      target: 'arn:aws:iam::111122223333:role/jit-release-app',
      permissions: [{ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::release/app/*'] }],
      durationSeconds: 900,
      reason: 'ship release 1.2',
    };
    const { requestId: parent } = await import('#core/requests/requests.ts').then((m) =>
      m.submitRequest(env.deps, ALICE, body),
    );
    await validateStep(env.deps, parent);
    await grantStep(env.deps, parent);
    env.clock.advance(300);
    const { requestId: child } = await extendRequest(env.deps, ALICE, parent, asked());
    // Act
    expect((await validateStep(env.deps, child)).outcome).toBe('AUTO_APPROVED');
    await grantStep(env.deps, child);
    // Assess
    const [p, c] = [await env.store.get(parent), await env.store.get(child)];
    expect(c?.sealedCredentials).toBeDefined();
    expect(c?.sealedCredentials).not.toBe(p?.sealedCredentials);
    expect(c?.session?.sessionName).not.toBe(p?.session?.sessionName);
    expect(c?.expiresAt).toBe('2026-11-22T10:20:00Z');
  });
});

describe('widerThan', () => {
  it('accepts the same or fewer permissions and names each wider action', () => {
    // Prepare
    const parent = [{ actions: ['s3:Get*'], resources: ['arn:aws:s3:::a/*'] }];
    // Act
    const same = widerThan(parent, parent);
    const fewer = widerThan(parent, [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::a/x'] }]);
    const wider = widerThan(parent, [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/x'] }]);
    // Assess
    expect(same).toEqual([]);
    expect(fewer).toEqual([]);
    expect(wider.map((i) => i.field)).toEqual(['permissions[0].actions[0]']);
  });
});
