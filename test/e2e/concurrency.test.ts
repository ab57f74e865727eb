import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '#core/audit/chain.ts';
import { median } from '../../bench/stats.ts';
import type { LocalBroker } from '../../local/runtime.ts';
import { arn, DEV, startBroker, submit, waitForStatus } from './harness.ts';

const N = 50;

describe('local runtime: concurrency', () => {
  let broker: LocalBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it(`completes ${N} concurrent requests from different requesters with no lost or duplicated events`, async () => {
    // Act: N auto-approved 2-second grants at once, on N different ops roles.
    const ids = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        submit(broker, DEV(`user-${i}`), {
          target: arn.role(`ops-${i}`),
          permissions: [
            {
              actions: ['logs:GetLogEvents'],
              resources: ['arn:aws:logs:us-east-1:111122223333:log-group:/app/api'],
            },
          ],
          durationSeconds: 2,
          reason: `concurrency ${i}`,
        }),
      ),
    );
    const finals = await Promise.all(ids.map((id) => waitForStatus(broker, id, 'REVOKED', 60_000)));
    const lags: number[] = [];
    const chains = await Promise.all(
      ids.map(async (id, i) => {
        const events = await broker.deps.store.events(id);
        const revoked = events.find((e) => e.to === 'REVOKED');
        lags.push(Date.parse(revoked?.at ?? '') - Date.parse(finals[i]?.expiresAt ?? ''));
        return { statuses: events.map((e) => e.to), check: verifyChain(events) };
      }),
    );
    // Assess
    expect(new Set(ids).size).toBe(N);
    for (const c of chains) {
      expect(c.statuses).toEqual(['REQUESTED', 'APPROVED', 'GRANTED', 'REVOKED']);
      expect(c.check).toEqual({ ok: true });
    }
    expect(broker.events.filter((e) => ids.includes(e.requestId))).toHaveLength(4 * N);
    expect(broker.iam.snapshot()).toEqual([]);
    expect(Math.min(...lags)).toBeGreaterThanOrEqual(0);
    const figures = { requests: N, revokeLagMs: { median: median(lags), max: Math.max(...lags) } };
    console.info(`[measure] ${JSON.stringify(figures)}`);
  });
});
