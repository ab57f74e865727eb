/**
 * Many concurrent auto-approved lifecycles on one in-process local broker: every request submitted over
 * HTTP, then followed to REVOKED and checked (event sequence, hash chain through GET /requests/{id}, no
 * policy left in the simulated account, transitions per execution from the library's event log). A small
 * burst measured first on the same broker is the baseline for the ratios.
 */
import { parsePolicyConfig } from '#core/policy/config.ts';
import { startLocalBroker } from '../local/runtime.ts';
import { traceExecutions, traceOf, transitionsOf } from './state-trace.ts';
import { median, percentile } from './stats.ts';
import { benchConfigInput, REQUESTER, ROLE } from './transitions.ts';

const EXPECTED = ['REQUESTED', 'APPROVED', 'GRANTED', 'REVOKED'];

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Largest number of intervals open at once. */
function peakOverlap(intervals: readonly { start: number; end: number }[]): number {
  const edges = intervals.flatMap((i) => [
    [i.start, 1],
    [i.end, -1],
  ]);
  edges.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
  let open = 0;
  let peak = 0;
  for (const [, d] of edges) {
    open += d as number;
    peak = Math.max(peak, open);
  }
  return peak;
}

type Broker = Awaited<ReturnType<typeof startLocalBroker>>;

/** One burst of `n` lifecycles of `durationSeconds` each, every one on its own requester and target role. */
async function burst(broker: Broker, tag: string, n: number, durationSeconds: number, clientLimit: number) {
  const call = async (principal: string, method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await fetch(`${broker.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-jit-principal': principal },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const who = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
  const t0 = performance.now();
  const wall0 = Date.now();
  const submitErrors: string[] = [];
  const submitted = await pool(who, clientLimit, async (w) => {
    try {
      const r = await call(REQUESTER(w), 'POST', '/requests', {
        target: ROLE(`bench-${w}`),
        permissions: [{ actions: ['s3:GetObject'], resources: [`arn:aws:s3:::bench/${w}`] }],
        durationSeconds,
        reason: `bench: ${n} concurrent`,
      });
      if (r.status !== 202) {
        submitErrors.push(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        return undefined;
      }
      return String(r.body.requestId);
    } catch (error) {
      submitErrors.push(String((error as Error).message));
      return undefined;
    }
  });
  const submitMs = performance.now() - t0;
  const ids = submitted.filter((id): id is string => id !== undefined);
  // Every execution to its end (the local Workflow port keeps them by name = request id).
  await Promise.all(ids.map((id) => broker.workflow.executions.get(id)?.done));
  const endedMs = performance.now() - t0;
  const failedExecutions = ids.filter((id) => broker.workflow.executions.get(id)?.status !== 'SUCCEEDED');
  const missingExecutions = ids.filter((id) => !broker.workflow.executions.has(id));
  // Then each request as the API shows it to its requester: status, events, hash-chain integrity.
  const requesterOf = new Map(submitted.map((id, i) => [id, REQUESTER(who[i] as string)]));
  const checked = await pool(ids, clientLimit, async (id) => {
    const r = await call(requesterOf.get(id) as string, 'GET', `/requests/${id}`);
    const events = (r.body.events ?? []) as { to: string; at: string; details?: Record<string, unknown> }[];
    const granted = events.find((e) => e.to === 'GRANTED');
    const revoked = events.find((e) => e.to === 'REVOKED');
    const expiresAt = Date.parse(String(r.body.expiresAt ?? granted?.details?.expiresAt ?? ''));
    return {
      id,
      httpStatus: r.status,
      status: String(r.body.status),
      sequenceOk: JSON.stringify(events.map((e) => e.to)) === JSON.stringify(EXPECTED),
      integrityOk: (r.body.integrity as { ok?: boolean } | undefined)?.ok === true,
      lag: Date.parse(revoked?.at ?? '') - expiresAt,
      requestedAt: Date.parse(events[0]?.at ?? ''),
      revokedAt: Date.parse(revoked?.at ?? ''),
    };
  });
  const traces = await Promise.all(ids.map((id) => traceOf(id)));
  const transitions = traces.map(transitionsOf);
  const lags = checked.map((c) => c.lag).filter(Number.isFinite);
  const lastRevoked = Math.max(...checked.map((c) => c.revokedAt).filter(Number.isFinite));
  const storeEvents = broker.events.filter((e) => ids.includes(e.requestId)).length;
  const leftovers = broker.iam
    .snapshot()
    .flatMap((p) => Object.keys(p.inlinePolicies).map((name) => `${p.arn}:${name}`));
  const bad = checked.filter(
    (c) => c.httpStatus !== 200 || c.status !== 'REVOKED' || !c.sequenceOk || !c.integrityOk,
  );
  return {
    requests: n,
    durationSeconds,
    clientConcurrency: Math.min(clientLimit, n),
    accepted: ids.length,
    uniqueIds: new Set(ids).size,
    submitErrors: submitErrors.slice(0, 5),
    submitErrorCount: submitErrors.length,
    executionsNotSucceeded: failedExecutions.length + missingExecutions.length,
    revokedWithExpectedSequenceAndValidChain: checked.length - bad.length,
    badRequests: bad.slice(0, 5),
    storeEvents: { observed: storeEvents, expected: EXPECTED.length * ids.length },
    policiesLeft: leftovers.length,
    policiesLeftSample: leftovers.slice(0, 5),
    peakRunningExecutions: peakOverlap(
      traces.map((t) => ({ start: t.startedAt, end: t.endedAt ?? t.startedAt })),
    ),
    transitionsPerExecution: {
      min: Math.min(...transitions),
      max: Math.max(...transitions),
      retries: traces.reduce((s, t) => s + t.retried.length, 0),
    },
    revokeLagMs: {
      median: median(lags),
      p95: percentile(lags, 95),
      max: Math.max(...lags),
      min: Math.min(...lags),
    },
    submitPhaseMs: Math.round(submitMs),
    wallMs: {
      firstSubmitToLastRevoked: Math.round(lastRevoked - wall0),
      firstSubmitToAllExecutionsEnded: Math.round(endedMs),
    },
  };
}

export type BurstFigures = Awaited<ReturnType<typeof burst>>;

/** True when a burst lost nothing and left nothing behind. */
export function burstProblems(b: BurstFigures): string[] {
  const p: string[] = [];
  if (b.accepted !== b.requests) p.push(`${b.requests - b.accepted} of ${b.requests} submits not accepted`);
  if (b.uniqueIds !== b.accepted) p.push('duplicate request ids');
  if (b.executionsNotSucceeded) p.push(`${b.executionsNotSucceeded} executions did not succeed`);
  if (b.revokedWithExpectedSequenceAndValidChain !== b.accepted)
    p.push(
      `${b.accepted - b.revokedWithExpectedSequenceAndValidChain} requests not REVOKED with the expected events and a valid chain`,
    );
  if (b.storeEvents.observed !== b.storeEvents.expected)
    p.push(`store accepted ${b.storeEvents.observed} events, expected ${b.storeEvents.expected}`);
  if (b.policiesLeft) p.push(`${b.policiesLeft} inline policies left`);
  return p;
}

/** The baseline burst, then the big one, on the same broker in the same run. */
export async function concurrencyFigures(
  ddbEndpoint: string,
  opts: { baseline: number; large: number; durationSeconds: number; clientConcurrency: number },
) {
  traceExecutions();
  const broker = await startLocalBroker({
    config: parsePolicyConfig(benchConfigInput(60)),
    port: 0,
    ddbEndpoint,
    log: () => {},
  });
  try {
    const baseline = await burst(broker, 'b', opts.baseline, opts.durationSeconds, opts.clientConcurrency);
    const large = await burst(broker, 'l', opts.large, opts.durationSeconds, opts.clientConcurrency);
    const ratio = (a: number, b: number) => (b > 0 ? Number((a / b).toFixed(2)) : null);
    return {
      baseline,
      large,
      ratioLargeToBaseline: {
        revokeLagMedian: ratio(large.revokeLagMs.median, baseline.revokeLagMs.median),
        revokeLagP95: ratio(large.revokeLagMs.p95, baseline.revokeLagMs.p95),
        revokeLagMax: ratio(large.revokeLagMs.max, baseline.revokeLagMs.max),
        wallFirstSubmitToLastRevoked: ratio(
          large.wallMs.firstSubmitToLastRevoked,
          baseline.wallMs.firstSubmitToLastRevoked,
        ),
        requests: ratio(large.requests, baseline.requests),
      },
      problems: [
        ...burstProblems(baseline).map((p) => `baseline: ${p}`),
        ...burstProblems(large).map((p) => `large: ${p}`),
      ],
    };
  } finally {
    await broker.stop();
  }
}
