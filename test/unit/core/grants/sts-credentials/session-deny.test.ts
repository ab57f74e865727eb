import { describe, expect, it } from 'vitest';
import { PolicyLimitError } from '#core/errors.ts';
import { OLDER_SESSIONS_POLICY } from '#core/grants/sts-credentials/sessions.ts';
import { submitRequest } from '#core/requests/requests.ts';
import { cleanupStep, grantStep, revokeGrant, validateStep } from '#core/workflow/steps.ts';
import { ALICE, arn, credentialsConfig, fakeDeps } from '../../../../support/fakes.ts';

const ROLE = 'jit-release-prod';

function setup() {
  return fakeDeps(credentialsConfig());
}

async function granted(env: ReturnType<typeof setup>) {
  const { requestId } = await submitRequest(env.deps, ALICE, {
    kind: 'credentials',
    target: arn.role(ROLE),
    permissions: [{ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::release/app/*'] }],
    durationSeconds: 600,
    reason: 'ship it',
  });
  await validateStep(env.deps, requestId);
  await grantStep(env.deps, requestId);
  return requestId;
}

/** Fills the role's inline-policy space up to `room` characters below IAM's 10,240 limit. */
async function fillRole(env: ReturnType<typeof setup>, room = 100) {
  const role = { account: '111122223333', type: 'role' as const, name: ROLE };
  let used = 0;
  for (const name of await env.iam.listPolicies(role)) {
    used += (await env.iam.getPolicy(role, name))?.replace(/\s+/g, '').length ?? 0;
  }
  const doc = (pad: string) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${pad}` }],
    });
  const size = 10_240 - used - room;
  await env.iam.putPolicy(role, 'base', doc('x'.repeat(size - doc('').length)));
}

describe('session deny when the role is full', () => {
  it('falls back to one policy denying JIT sessions issued before now, replacing the session denies it covers', async () => {
    // Prepare: two sessions already denied one by one, then the role runs out of room.
    const env = setup();
    const earlier = [await granted(env), await granted(env)];
    const id = await granted(env);
    for (const e of earlier) await revokeGrant(env.deps, e, 'system:expiry', 'expired');
    await fillRole(env);
    // Act
    const result = await revokeGrant(env.deps, id, 'system:expiry', 'expired');
    const policies = env.iam.policiesOf(arn.role(ROLE));
    const event = (await env.store.events(id)).at(-1);
    // Assess
    expect(result).toMatchObject({ status: 'REVOKED', kind: 'credentials', cleanupAt: expect.any(String) });
    expect(Object.keys(policies).sort()).toEqual(['base', OLDER_SESSIONS_POLICY].sort());
    expect(JSON.parse(policies[OLDER_SESSIONS_POLICY] ?? '{}')).toMatchObject({
      Statement: [
        {
          Effect: 'Deny',
          Condition: {
            StringLike: { 'aws:userid': expect.stringMatching(/^AROA[0-9A-F]{17}:jit-\*$/) },
            DateLessThan: { 'aws:TokenIssueTime': expect.any(String) },
          },
        },
      ],
    });
    expect(event?.details).toMatchObject({
      method: 'older-sessions',
      note: expect.stringContaining('no room'),
    });
  });

  it('lets only the grant that set the current bound remove the shared fallback policy', async () => {
    // Prepare: one session denied on its own, the role fills up, then two grants revoked through the
    // fallback, the second moving the bound later.
    const env = setup();
    const early = await granted(env);
    const first = await granted(env);
    const second = await granted(env);
    await revokeGrant(env.deps, early, 'system:expiry', 'expired');
    await fillRole(env);
    await revokeGrant(env.deps, first, 'system:expiry', 'expired');
    env.clock.advance(5);
    await revokeGrant(env.deps, second, 'system:expiry', 'expired');
    // Act
    const byFirst = await cleanupStep(env.deps, first);
    const stillThere = OLDER_SESSIONS_POLICY in env.iam.policiesOf(arn.role(ROLE));
    const bySecond = await cleanupStep(env.deps, second);
    // Assess
    expect(byFirst).toEqual({ removed: false });
    expect(stillThere).toBe(true);
    expect(bySecond).toEqual({ removed: true });
    expect(env.iam.policiesOf(arn.role(ROLE))[OLDER_SESSIONS_POLICY]).toBeUndefined();
    expect((await env.store.events(first)).at(-1)?.details).toMatchObject({
      event: 'SESSION_DENY_REMOVED',
      removed: false,
    });
  });

  it('fails the revoke (for retry, REVOKE_FAILED and the alarm) when nothing can make room', async () => {
    // Prepare
    const env = setup();
    const id = await granted(env);
    await fillRole(env, 50);
    // Act
    const act = revokeGrant(env.deps, id, 'system:expiry', 'expired');
    // Assess
    await expect(act).rejects.toBeInstanceOf(PolicyLimitError);
    expect((await env.store.get(id))?.status).toBe('GRANTED');
  });
});
