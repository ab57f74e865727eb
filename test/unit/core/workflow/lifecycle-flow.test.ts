import { describe, expect, it } from 'vitest';
import { verifyChain } from '#core/audit/chain.ts';
import { decide, submitRequest } from '#core/requests/requests.ts';
import { awaitApprovalStep, grantStep, revokeGrant, validateStep } from '#core/workflow/steps.ts';
import { ALICE, arn, BOB, fakeDeps, validBody } from '../../../support/fakes.ts';

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
