import { describe, expect, it } from 'vitest';
import { ConflictError } from '#core/errors.ts';
import { decide } from '#core/requests.ts';
import { expireApprovalStep } from '#core/workflow-steps.ts';
import { BOB, fakeDeps, pendingRequest } from '../../support/fakes.ts';

/** A Step Functions error for a token whose task timed out. */
const timedOut = () => Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' });

describe('a decision that races the end of the approval window', () => {
  it('tells the approver the window closed, and the expiry step closes the request without a grant', async () => {
    // Prepare: the approval task has just timed out in Step Functions.
    const { deps, store, iam } = fakeDeps();
    const id = await pendingRequest(deps);
    deps.workflow.sendSuccess = async () => {
      throw timedOut();
    };
    // Act
    const approve = decide(deps, BOB, id, 'approve');
    await expect(approve).rejects.toBeInstanceOf(ConflictError);
    const afterApprove = (await store.get(id))?.status;
    const closed = await expireApprovalStep(deps, id);
    const events = await store.events(id);
    // Assess
    expect(afterApprove).toBe('APPROVED');
    expect(closed).toEqual({ status: 'GRANT_FAILED' });
    expect(events.map((e) => e.to)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'APPROVED', 'GRANT_FAILED']);
    expect(events.at(-1)?.details).toMatchObject({
      reason: expect.stringContaining('after the approval window'),
    });
    expect(iam.calls.filter((c) => c.op === 'put')).toEqual([]);
  });

  it('keeps a denial that lost the race DENIED', async () => {
    // Prepare
    const { deps, store } = fakeDeps();
    const id = await pendingRequest(deps);
    deps.workflow.sendSuccess = async () => {
      throw timedOut();
    };
    // Act
    await expect(decide(deps, BOB, id, 'deny', 'no')).rejects.toBeInstanceOf(ConflictError);
    const after = await expireApprovalStep(deps, id);
    // Assess
    expect(after).toEqual({ status: 'DENIED' });
    expect((await store.events(id)).map((e) => e.to)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'DENIED']);
  });
});
