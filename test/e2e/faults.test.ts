import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throttled } from '../../local/fakes/iam.ts';
import type { LocalBroker } from '../../local/runtime.ts';
import {
  APPROVER,
  call,
  DEV,
  executionEnd,
  policiesOn,
  readRequest,
  startBroker,
  statuses,
  submit,
  waitForStatus,
} from './harness.ts';

describe('local runtime: faults injected through the ports', () => {
  let broker: LocalBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  async function approved(requester: string, body = readRequest()) {
    const id = await submit(broker, requester, body);
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    await call(broker, APPROVER('bob'), 'POST', `/requests/${id}/approve`, {});
    return id;
  }

  it('compensates a grant that fails after PutRolePolicy: nothing stays attached, GRANT_FAILED', async () => {
    // Prepare: the put lands in IAM, then the call fails (a lost response).
    broker.iam.inject({
      op: 'put',
      when: 'after',
      times: 1,
      error: () => Object.assign(new Error('connection reset after write'), { name: 'NetworkingError' }),
    });
    // Act
    const id = await approved(DEV('alice'));
    await waitForStatus(broker, id, 'GRANT_FAILED');
    const execution = await executionEnd(broker, id);
    const events = await broker.deps.store.events(id);
    // Assess
    expect(broker.iam.calls.some((c) => c.op === 'put' && c.policyName === `jit-${id}`)).toBe(true);
    expect(Object.keys(policiesOn(broker, 'app-reader'))).not.toContain(`jit-${id}`);
    expect(execution).toMatchObject({ status: 'FAILED', error: { error: 'GrantFailed' } });
    expect(events.map((e) => e.to)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'APPROVED', 'GRANT_FAILED']);
    expect(events.at(-1)?.details).toMatchObject({ removed: true, error: { error: 'NetworkingError' } });
  });

  it('retries a throttled revoke and ends REVOKED', async () => {
    // Prepare: IAM throttles the first two deletes.
    const fault = { op: 'delete' as const, error: throttled, times: 2 };
    broker.iam.inject(fault);
    // Act
    const id = await approved(DEV('bert'), readRequest({ durationSeconds: 1 }));
    await waitForStatus(broker, id, 'REVOKED');
    const execution = await executionEnd(broker, id);
    // Assess
    expect(fault.times).toBe(0);
    expect(execution.status).toBe('SUCCEEDED');
    expect(Object.keys(policiesOn(broker, 'app-reader'))).not.toContain(`jit-${id}`);
    expect(await statuses(broker, id)).toEqual([
      'REQUESTED',
      'PENDING_APPROVAL',
      'APPROVED',
      'GRANTED',
      'REVOKED',
    ]);
  });
});
