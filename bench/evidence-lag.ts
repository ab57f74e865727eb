import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicyConfig } from '#core/policy/config.ts';
import { startDynamoDbLocal } from '../local/engines/dynamodb-local.ts';
import { startLocalBroker } from '../local/runtime.ts';
import { median, percentile } from './stats.ts';

/**
 * Archive lag on the local runtime: from each event's `at` (when the core built it, before the table
 * write) to its evidence object being written. `npx tsx bench/evidence-lag.ts [lifecycles]`.
 */
async function main(): Promise<void> {
  const lifecycles = Number(process.argv[2] ?? 20);
  const ddb = await startDynamoDbLocal();
  try {
    const broker = await startLocalBroker({
      config: parsePolicyConfig({
        approvalWindowSeconds: 60,
        defaultDurationSeconds: 1,
        minDurationSeconds: 1,
        rules: [
          {
            id: 'bench',
            requesters: ['arn:aws:sts::111122223333:assumed-role/Bench/*'],
            targets: ['arn:aws:iam::111122223333:role/bench-*'],
            actions: ['s3:GetObject'],
            resources: ['arn:aws:s3:::bench/*'],
            maxDurationSeconds: 60,
            approval: 'auto',
          },
        ],
      }),
      port: 0,
      ddbEndpoint: ddb.endpoint,
      log: () => {},
    });
    try {
      const ids = await Promise.all(
        Array.from({ length: lifecycles }, async (_, i) => {
          const res = await fetch(`${broker.url}/requests`, {
            method: 'POST',
            headers: { 'x-jit-principal': `arn:aws:sts::111122223333:assumed-role/Bench/u${i}` },
            body: JSON.stringify({
              target: `arn:aws:iam::111122223333:role/bench-${i}`,
              permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bench/x'] }],
              durationSeconds: 1,
              reason: 'evidence lag benchmark',
            }),
          });
          return ((await res.json()) as { requestId: string }).requestId;
        }),
      );
      for (const id of ids) await broker.workflow.executions.get(id)?.done;
      await broker.evidence.settled();
      const lag = broker.evidence.lagMs;
      const figures = {
        lifecycles,
        events: lag.length,
        lagMs: {
          median: Math.round(median(lag)),
          p95: Math.round(percentile(lag, 95)),
          max: Math.round(Math.max(...lag)),
        },
        note: 'event `at` (built before the table write) to the object written in the local archive',
      };
      mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
      writeFileSync(
        join(import.meta.dirname, 'results', 'evidence-lag.json'),
        `${JSON.stringify(figures, null, 2)}\n`,
      );
      console.log(JSON.stringify(figures));
    } finally {
      await broker.stop();
    }
  } finally {
    await ddb.stop();
  }
}

await main();
