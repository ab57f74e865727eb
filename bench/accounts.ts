/**
 * Grants across accounts on the local runtime: the time to GRANTED of a grant in a remote account (through
 * its grantor: the simulated STS checks the trust, the credentials are cached) against one in the hub
 * account (IAM directly), interleaved in the same run; and how many grantor assumptions 50 concurrent grants
 * in two remote accounts needed, from a cold cache.
 */
import { parsePolicyConfig } from '#core/policy/config.ts';
import type { PolicyConfigInput } from '#core/policy/config-schema.ts';
import { startDynamoDbLocal } from '../local/engines/dynamodb-local.ts';
import { type LocalBroker, startLocalBroker } from '../local/runtime.ts';
import { median } from './stats.ts';

const HUB = '111122223333';
const B = '222233334444';
const C = '333344445555';
const REQUESTER = (who: string) => `arn:aws:sts::${HUB}:assumed-role/Bench/${who}`;

function config(accounts: boolean): PolicyConfigInput {
  return {
    approvalWindowSeconds: 60,
    defaultDurationSeconds: 1,
    minDurationSeconds: 1,
    ...(accounts ? { accounts: [{ id: B }, { id: C }], externalId: 'bench-external-id' } : {}),
    rules: [
      {
        id: 'bench',
        requesters: [REQUESTER('*')],
        targets: [accounts ? 'arn:aws:iam::*:role/bench-*' : `arn:aws:iam::${HUB}:role/bench-*`],
        actions: ['s3:GetObject'],
        resources: ['arn:aws:s3:::bench/*'],
        maxDurationSeconds: 60,
        approval: 'auto',
      },
    ],
  };
}

async function submit(broker: LocalBroker, who: string, target: string, durationSeconds: number) {
  const res = await fetch(`${broker.url}/requests`, {
    method: 'POST',
    headers: { 'x-jit-principal': REQUESTER(who) },
    body: JSON.stringify({
      target,
      permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bench/x'] }],
      durationSeconds,
      reason: 'benchmark run',
    }),
  });
  const body = (await res.json()) as { requestId?: string };
  if (!body.requestId) throw new Error(`submit answered ${res.status}: ${JSON.stringify(body)}`);
  return body.requestId;
}

/** Milliseconds from REQUESTED to GRANTED of a request, once its execution is over. */
async function toGranted(broker: LocalBroker, id: string): Promise<number> {
  await broker.workflow.executions.get(id)?.done;
  const events = await broker.deps.store.events(id);
  const granted = events.find((e) => e.to === 'GRANTED');
  if (!granted) throw new Error(`${id} was never GRANTED: ${events.map((e) => e.to).join(' → ')}`);
  return Date.parse(granted.at) - Date.parse(events[0]?.at ?? '');
}

/** Waits until every request is GRANTED (or beyond). */
async function allGranted(broker: LocalBroker, ids: readonly string[]) {
  for (const id of ids) {
    for (let i = 0; ; i++) {
      const r = await broker.deps.store.get(id);
      if (r && r.status !== 'REQUESTED' && r.status !== 'APPROVED') break;
      if (i > 600) throw new Error(`${id} is still ${r?.status}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }
}

export async function accountsFigures(runs = 8, concurrent = 50) {
  const ddb = await startDynamoDbLocal();
  const start = (accounts: boolean) =>
    startLocalBroker({
      config: parsePolicyConfig(config(accounts)),
      port: 0,
      ddbEndpoint: ddb.endpoint,
      log: () => {},
    });
  try {
    const hub = await start(false);
    const remote = await start(true);
    const hubMs: number[] = [];
    const remoteMs: number[] = [];
    // Interleaved, so both see the same machine load.
    for (let i = 0; i < runs; i++) {
      hubMs.push(await toGranted(hub, await submit(hub, `h${i}`, `arn:aws:iam::${HUB}:role/bench-${i}`, 1)));
      remoteMs.push(
        await toGranted(remote, await submit(remote, `r${i}`, `arn:aws:iam::${B}:role/bench-${i}`, 1)),
      );
    }
    await hub.stop();
    await remote.stop();
    // Cold cache: a fresh broker, 50 grants at once, half in B, half in C.
    const burst = await start(true);
    const ids = await Promise.all(
      Array.from({ length: concurrent }, (_, i) =>
        submit(burst, `c${i}`, `arn:aws:iam::${i % 2 ? C : B}:role/bench-c${i}`, 30),
      ),
    );
    await allGranted(burst, ids);
    const { hits, misses } = burst.grantorCache;
    const assumeRoleCalls = burst.sts.grantorAssumptions.length;
    await burst.stop();
    const hubMedian = median(hubMs);
    const remoteMedian = median(remoteMs);
    return {
      requestToGrantedMs: {
        hubDirect: { median: hubMedian, runs: hubMs },
        remoteThroughGrantor: { median: remoteMedian, runs: remoteMs },
        ratioRemoteToHub: Number((remoteMedian / hubMedian).toFixed(2)),
      },
      grantorCache: {
        concurrentGrants: concurrent,
        accounts: 2,
        lookups: hits + misses,
        servedFromCache: hits,
        assumeRoleCalls,
        shareFromCache: Number((hits / Math.max(1, hits + misses)).toFixed(3)),
      },
    };
  } finally {
    await ddb.stop();
  }
}

/** The figures as Markdown lines for latest.md. */
export function accountsMd(a: Awaited<ReturnType<typeof accountsFigures>>): string[] {
  const t = a.requestToGrantedMs;
  const c = a.grantorCache;
  return [
    '## Grants across accounts (local runtime)',
    '',
    `- request → GRANTED, 1 s auto-approved grant, ${t.hubDirect.runs.length} interleaved runs: hub account (IAM directly) median ${t.hubDirect.median} ms, remote account through its grantor median ${t.remoteThroughGrantor.median} ms: ratio ${t.ratioRemoteToHub}×`,
    `- ${c.concurrentGrants} concurrent grants in ${c.accounts} remote accounts, cold cache: ${c.servedFromCache} of ${c.lookups} grantor look-ups served from the cache (${(c.shareFromCache * 100).toFixed(1)}%), ${c.assumeRoleCalls} AssumeRole calls`,
  ];
}
