import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainCheck } from '#core/audit/chain.ts';
import { isTerminal, type Status } from '#core/lifecycle.ts';
import { parsePolicyConfig } from '#core/policy/config.ts';
import { type LocalBroker, startLocalBroker } from '../../local/runtime.ts';
import {
  APPROVER,
  arn,
  call,
  DEV,
  e2eConfig,
  executionEnd,
  readRequest,
  startBroker,
  statuses,
  submit,
  waitForStatus,
} from './harness.ts';

const autoRequest = (n: number, durationSeconds = 1) => ({
  target: arn.role(`ops-${n}`),
  permissions: [
    {
      actions: ['logs:GetLogEvents'],
      resources: [`arn:aws:logs:us-east-1:111122223333:log-group:/app/${n}`],
    },
  ],
  durationSeconds,
  reason: 'e2e: race a cancel',
});

describe('local runtime: the record agrees with the workflow', () => {
  let broker: LocalBroker;
  beforeAll(async () => {
    broker = await startBroker(e2eConfig(), { reconcileAfterSeconds: 0 });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('ends 50 cancel races CANCELLED (or granted and revoked) with no failed execution and no alarm', async () => {
    // Act: each requester cancels the moment the request is accepted, racing Validate and AwaitApproval.
    const ids = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const requester = DEV(`racer-${i}`);
        const id = await submit(broker, requester, i % 2 ? readRequest() : autoRequest(i));
        const cancel = await call(broker, requester, 'POST', `/requests/${id}/cancel`, {});
        return { id, cancel: cancel.status };
      }),
    );
    const ends = await Promise.all(ids.map(({ id }) => executionEnd(broker, id)));
    const finals = await Promise.all(
      ids.map(({ id }) => waitForStatus(broker, id, ['CANCELLED', 'REVOKED'])),
    );
    // Assess
    expect(ends.filter((e) => e.status !== 'SUCCEEDED').map((e) => [e.name, e.error])).toEqual([]);
    expect(broker.outcomes).toEqual({ GrantFailed: 0, RevokeFailed: 0 });
    expect(ids.map((r) => r.cancel).every((s) => s === 200 || s === 409)).toBe(true);
    // Every approval-required request is still undecided when its cancel lands; auto-approved ones race.
    expect(finals.filter((r) => r.status === 'CANCELLED').length).toBeGreaterThanOrEqual(25);
    expect(broker.iam.snapshot()).toEqual([]);
  });

  it('closes an approval whose execution was stopped GRANT_FAILED and answers 409', async () => {
    // Prepare
    const id = await submit(broker, DEV('alice'), readRequest());
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    await broker.workflow.stop(id);
    // Act
    const approve = await call<{ error: { code: string } }>(
      broker,
      APPROVER('bob'),
      'POST',
      `/requests/${id}/approve`,
      {},
    );
    // Assess
    expect(approve.status).toBe(409);
    expect(approve.body.error.code).toBe('ApprovalWindowClosed');
    expect(await statuses(broker, id)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'APPROVED', 'GRANT_FAILED']);
    expect(broker.iam.calls.filter((c) => c.policyName === `jit-${id}`)).toEqual([]);
  });

  it('cancels a request whose execution was stopped with 200, never 500', async () => {
    // Prepare
    const id = await submit(broker, DEV('alice'), readRequest());
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    await broker.workflow.stop(id);
    // Act
    const cancel = await call(broker, DEV('alice'), 'POST', `/requests/${id}/cancel`, {});
    // Assess
    expect(cancel).toMatchObject({ status: 200, body: { status: 'CANCELLED' } });
    expect(await statuses(broker, id)).toEqual(['REQUESTED', 'PENDING_APPROVAL', 'CANCELLED']);
  });

  it('lets the sweeper reconcile a request whose execution was stopped', async () => {
    // Prepare
    const id = await submit(broker, DEV('alice'), readRequest());
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    await broker.workflow.stop(id);
    // Act
    const report = await broker.sweep();
    // Assess
    expect(report.reconciled).toContainEqual({
      requestId: id,
      from: 'PENDING_APPROVAL',
      to: 'APPROVAL_EXPIRED',
      execution: 'ABORTED',
    });
    expect((await statuses(broker, id)).at(-1)).toBe('APPROVAL_EXPIRED');
  });

  it('never reads a request as broken while it changes (a GET storm during 10 lifecycles)', async () => {
    // Prepare
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) => submit(broker, DEV(`storm-${i}`), autoRequest(100 + i, 3))),
    );
    const checks: ChainCheck[] = [];
    const seen = new Set<Status>();
    // Act: read every request over and over until all are over.
    await Promise.all(
      ids.map(async (id, i) => {
        for (;;) {
          const read = await call<{ status: Status; integrity: ChainCheck }>(
            broker,
            DEV(`storm-${i}`),
            'GET',
            `/requests/${id}`,
          );
          checks.push(read.body.integrity);
          seen.add(read.body.status);
          if (isTerminal(read.body.status)) return;
        }
      }),
    );
    // Assess
    expect(checks.length).toBeGreaterThan(40);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(seen.has('GRANTED')).toBe(true);
  });
});

describe('local runtime: a restart on a data directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-reconcile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reconciles a request that was pending when the broker stopped, within a minute', async () => {
    // Prepare: a pending request, then the broker stops (its executions are gone with it).
    const config = parsePolicyConfig(e2eConfig());
    const options = { config, port: 0, dataDir: dir, retryIntervalMs: 20, log: () => {} };
    const first = await startLocalBroker(options);
    let id: string;
    try {
      id = await submit(first, DEV('alice'), readRequest());
      await waitForStatus(first, id, 'PENDING_APPROVAL');
    } finally {
      await first.stop();
    }
    // Act
    const started = Date.now();
    const second = await startLocalBroker({ ...options, sweepIntervalMs: 1000 });
    try {
      const closed = await waitForStatus(second, id, 'APPROVAL_EXPIRED', 60_000);
      // Assess
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(closed.taskToken).toBeUndefined();
      const events = await second.deps.store.events(id);
      expect(events.at(-1)).toMatchObject({
        actor: 'system:reconciler',
        details: { execution: 'NOT_FOUND' },
      });
    } finally {
      await second.stop();
    }
  }, 120_000);
});
