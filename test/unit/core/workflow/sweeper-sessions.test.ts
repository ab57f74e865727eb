import { describe, expect, it } from 'vitest';
import { submitRequest } from '#core/requests/requests.ts';
import { compensateGrant, grantStep, revokeGrant, validateStep } from '#core/workflow/steps.ts';
import { sweepStrayPolicies } from '#core/workflow/sweeper.ts';
import { ALICE, arn, credentialsConfig, fakeDeps } from '../../../support/fakes.ts';

const ROLE = 'jit-release-prod';

function setup() {
  return fakeDeps(credentialsConfig());
}

async function approved(env: ReturnType<typeof setup>) {
  const { requestId } = await submitRequest(env.deps, ALICE, {
    kind: 'credentials',
    target: arn.role(ROLE),
    permissions: [{ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::release/app/*'] }],
    durationSeconds: 600,
    reason: 'ship it',
  });
  await validateStep(env.deps, requestId);
  return requestId;
}

describe('sweeper and session denies', () => {
  it('removes a session deny whose cleanup step never ran, once every session it ends has expired', async () => {
    // Prepare: granted, revoked (deny attached), and the workflow's cleanup never happened.
    const env = setup();
    const id = await approved(env);
    await grantStep(env.deps, id);
    await revokeGrant(env.deps, id, 'system:expiry', 'expired');
    // Act
    const early = await sweepStrayPolicies(env.deps);
    env.clock.advance(900 + 301 + 1);
    const late = await sweepStrayPolicies(env.deps);
    const last = (await env.store.events(id)).at(-1);
    // Assess
    expect(early).toEqual([]);
    expect(late).toEqual([expect.objectContaining({ policyName: `jit-${id}`, action: 'removed' })]);
    expect(env.iam.policiesOf(arn.role(ROLE))).toEqual({});
    expect(last).toMatchObject({
      from: 'REVOKED',
      to: 'REVOKED',
      details: { event: 'SESSION_DENY_REMOVED' },
    });
  });

  it('removes the deny a failed credentials grant left, only after any session could have expired', async () => {
    // Prepare: the grant failed after AssumeRole (not a trust failure), so compensation denied the session.
    const env = setup();
    const id = await approved(env);
    await compensateGrant(env.deps, id, { Error: 'NetworkingError', Cause: 'lost response' });
    const attached = Object.keys(env.iam.policiesOf(arn.role(ROLE)));
    // Act
    env.clock.advance(3600);
    const tooEarly = await sweepStrayPolicies(env.deps);
    env.clock.advance(301);
    const after = await sweepStrayPolicies(env.deps);
    // Assess
    expect(attached).toEqual([`jit-${id}`]);
    expect(tooEarly).toEqual([]);
    expect(after).toEqual([expect.objectContaining({ policyName: `jit-${id}`, action: 'removed' })]);
    expect(env.iam.policiesOf(arn.role(ROLE))).toEqual({});
  });
});
