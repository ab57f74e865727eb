import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '#core/errors.ts';
import type { AlarmingOutcome } from '#lambdas/runtime/logger.ts';
import { createStepHandlers } from '#lambdas/workflow-steps/handlers.ts';
import { ALICE, approvedRequest, fakeDeps, grantedRequest, pendingRequest } from '../../support/fakes.ts';

/** Step handlers over fake deps, with the outcomes they count. */
function setup() {
  const env = fakeDeps();
  const counted: AlarmingOutcome[] = [];
  const steps = createStepHandlers(env.deps, (o) => counted.push(o));
  return { ...env, steps, counted };
}

describe('workflow step handlers', () => {
  it('refuses a payload without a request id before touching anything', async () => {
    // Prepare
    const { steps, store } = setup();
    // Act
    const results = await Promise.allSettled([
      steps.validate({}),
      steps.grant({ requestId: '' }),
      steps.revoke({ requestId: 42 }),
    ]);
    // Assess
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(InvalidRequestError);
    }
    expect(store.requests.size).toBe(0);
  });

  it('routes the approval step to the pending write, and its expire action to the expiry', async () => {
    // Prepare
    const { steps, deps, store } = setup();
    const id = await pendingRequest(deps);
    // Act
    const noToken = steps.awaitApproval({ requestId: id });
    const expired = await steps.awaitApproval({ requestId: id, action: 'expire' });
    // Assess
    await expect(noToken).rejects.toBeInstanceOf(InvalidRequestError);
    expect(expired).toEqual({ requestId: id, status: 'APPROVAL_EXPIRED' });
    expect((await store.get(id))?.status).toBe('APPROVAL_EXPIRED');
  });

  it('counts GrantFailed when it compensates and RevokeFailed when it records an exhausted revoke', async () => {
    // Prepare
    const { steps, deps, counted } = setup();
    const approved = await approvedRequest(deps);
    const granted = await grantedRequest(deps);
    // Act
    const compensated = await steps.revoke({
      requestId: approved,
      action: 'compensate',
      error: { Error: 'X' },
    });
    const failed = await steps.revoke({ requestId: granted, action: 'markFailed', error: { Error: 'Y' } });
    // Assess
    expect(compensated).toMatchObject({ status: 'GRANT_FAILED' });
    expect(failed).toMatchObject({ status: 'REVOKE_FAILED' });
    expect(counted).toEqual(['GrantFailed', 'RevokeFailed']);
  });

  it('revokes at expiry as system:expiry and an early revoke as the actor the API names, counting neither', async () => {
    // Prepare
    const { steps, deps, store, counted } = setup();
    const atExpiry = await grantedRequest(deps);
    const early = await grantedRequest(deps);
    // Act
    await steps.revoke({ requestId: atExpiry });
    await steps.revoke({ requestId: early, action: 'early', actor: ALICE, reason: 'done' });
    const noActor = steps.revoke({ requestId: early, action: 'early' });
    // Assess
    expect((await store.events(atExpiry)).at(-1)).toMatchObject({ to: 'REVOKED', actor: 'system:expiry' });
    expect((await store.events(early)).at(-1)).toMatchObject({
      to: 'REVOKED',
      actor: ALICE,
      details: { reason: 'done' },
    });
    await expect(noActor).rejects.toBeInstanceOf(InvalidRequestError);
    expect(counted).toEqual([]);
  });
});
