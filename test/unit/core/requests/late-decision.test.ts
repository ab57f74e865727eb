import { describe, expect, it } from 'vitest';
import { ConflictError, TaskClosedError } from '#core/errors.ts';
import { cancelRequest, decide } from '#core/requests/requests.ts';
import { expireApprovalStep } from '#core/workflow/steps.ts';
import { ALICE, BOB, fakeDeps, pendingRequest } from '../../../support/fakes.ts';

/** A Step Functions error for a token whose task timed out. */
const timedOut = () => new TaskClosedError('TaskTimedOut: Task Timed Out');

describe('a decision that races the end of the approval window', () => {
  it('tells the approver the window closed and closes the request without a grant in the same call', async () => {
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
    expect(afterApprove).toBe('GRANT_FAILED');
    expect(closed).toEqual({ status: 'GRANT_FAILED' });
    expect(events.map((e) => e.to)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'APPROVED', 'GRANT_FAILED']);
    expect(events.at(-1)?.details).toMatchObject({
      reason: expect.stringContaining('after the approval window'),
      cause: expect.stringContaining('TaskTimedOut'),
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

  it('cancels a request whose workflow is gone without a server error', async () => {
    // Prepare: the execution was stopped by hand; its token is dead.
    const { deps, store } = fakeDeps();
    const id = await pendingRequest(deps);
    deps.workflow.sendSuccess = async () => {
      throw timedOut();
    };
    // Act
    const result = await cancelRequest(deps, ALICE, id);
    // Assess
    expect(result).toEqual({ status: 'CANCELLED' });
    expect((await store.events(id)).map((e) => e.to)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'CANCELLED']);
  });

  it('leaves an approval whose callback failed for another reason APPROVED for the expiry step', async () => {
    // Prepare: Step Functions throttled the callback (the token is still alive).
    const { deps, store } = fakeDeps();
    const id = await pendingRequest(deps);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    deps.workflow.sendSuccess = async () => {
      throw throttled;
    };
    // Act
    const approve = decide(deps, BOB, id, 'approve');
    // Assess
    await expect(approve).rejects.toBe(throttled);
    expect((await store.get(id))?.status).toBe('APPROVED');
  });
});
