import { describe, expect, it } from 'vitest';
import { SWEEPER, sweepExpiredGrants } from '#core/sweeper.ts';
import { markRevokeFailed } from '#core/workflow-steps.ts';
import { throttled } from '../../../local/simulated-iam.ts';
import { arn, fakeDeps, grantedRequest, validBody } from '../../support/fakes.ts';

describe('sweeper', () => {
  it('revokes grants still held after the grace period and leaves younger ones to the workflow', async () => {
    // Prepare: one grant whose revoke failed, one that expired only a minute ago, one still running.
    const { deps, store, iam, clock } = fakeDeps();
    const failed = await grantedRequest(deps, validBody({ durationSeconds: 60 }));
    await markRevokeFailed(deps, failed, { Error: 'RetryableAwsError', Cause: 'throttled' });
    clock.advance(600);
    const recent = await grantedRequest(deps, validBody({ durationSeconds: 60 }));
    const running = await grantedRequest(deps, validBody({ durationSeconds: 3600 }));
    clock.advance(60 + 60);
    // Act
    const report = await sweepExpiredGrants(deps, { graceSeconds: 300 });
    // Assess
    expect(report).toEqual({ checked: 1, revoked: [failed], failed: [] });
    expect((await store.get(failed))?.status).toBe('REVOKED');
    expect((await store.events(failed)).at(-1)).toMatchObject({
      from: 'REVOKE_FAILED',
      to: 'REVOKED',
      actor: SWEEPER,
    });
    expect(Object.keys(iam.policiesOf(arn.role('app-reader')))).toEqual([`jit-${recent}`, `jit-${running}`]);
    expect((await store.get(recent))?.status).toBe('GRANTED');
  });

  it('keeps going when one revoke fails and reports it', async () => {
    // Prepare
    const { deps, store, iam, clock } = fakeDeps();
    const first = await grantedRequest(deps, validBody({ durationSeconds: 60 }));
    const second = await grantedRequest(deps, validBody({ durationSeconds: 60 }));
    clock.advance(3600);
    iam.inject({ op: 'delete', error: throttled, times: 1, policyName: (n) => n === `jit-${first}` });
    // Act
    const report = await sweepExpiredGrants(deps, { graceSeconds: 60 });
    // Assess
    expect(report.revoked).toEqual([second]);
    expect(report.failed).toEqual([
      { requestId: first, error: expect.stringContaining('RetryableAwsError') },
    ]);
    expect((await store.get(first))?.status).toBe('GRANTED');
    expect((await store.get(second))?.status).toBe('REVOKED');
  });
});
