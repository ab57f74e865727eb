/**
 * `npm run bench`: the figures the issues ask for, written to bench/results/latest.{json,md}.
 * Timings on shared machines are noisy: each figure is a median over repeated runs, and the local
 * lifecycle is reported against the grant window (its floor) and a DynamoDB Local round trip measured in
 * the same run.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parsePolicyConfig } from '#core/policy/config.ts';
import { buildBrokerApp } from '../lib/app.ts';
import { loadPolicyConfigFile } from '../lib/policy-file.ts';
import { LOCAL_AWS, startDynamoDbLocal } from '../local/engines/dynamodb-local.ts';
import { startLocalBroker } from '../local/runtime.ts';
import { accountsFigures, accountsMd } from './accounts.ts';
import { cliFigures, cliMd } from './cli.ts';
import { concurrencyFigures } from './concurrent.ts';
import { reviewFigures, reviewMd } from './review.ts';
import { median } from './stats.ts';
import { transitionFigures } from './transitions.ts';

const RESULTS = join(import.meta.dirname, 'results');

function dirSize(dir: string, match: (f: string) => boolean): number {
  return readdirSync(dir)
    .filter(match)
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

/** Synthesizes the real app (esbuild bundling + cdk-nag) and reports synth time and bundle sizes. */
async function synthFigures(runs: number) {
  const policy = await loadPolicyConfigFile('jit.config.ts');
  const times: number[] = [];
  let bundles: Record<string, { codeBytes: number; sourceMapBytes: number }> = {};
  for (let i = 0; i < runs; i++) {
    const outdir = mkdtempSync(join(tmpdir(), 'jit-bench-synth-'));
    const t0 = performance.now();
    const { app, broker } = buildBrokerApp({ policy, appProps: { outdir } });
    const assembly = app.synth();
    times.push(performance.now() - t0);
    bundles = {};
    const template = assembly.getStackByName(broker.stackName).template as {
      Resources: Record<string, { Type: string; Properties?: { Code?: { S3Key?: string } } }>;
    };
    for (const [name, fn] of Object.entries(broker.functions)) {
      const logicalId = broker.getLogicalId(fn.fn.node.defaultChild as never);
      // The bundle of a NodejsFunction is the asset `asset.<hash>` whose zip is the Code's S3Key.
      const key = template.Resources[logicalId]?.Properties?.Code?.S3Key;
      if (!key) throw new Error(`no code asset for ${name}`);
      const dir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
      bundles[name] = {
        codeBytes: dirSize(dir, (f) => f.endsWith('.mjs')),
        sourceMapBytes: dirSize(dir, (f) => f.endsWith('.map')),
      };
    }
    rmSync(outdir, { recursive: true, force: true });
  }
  return { synthMs: { median: Math.round(median(times)), runs: times.map(Math.round) }, bundles };
}

/** Full auto-approved lifecycles on the local runtime, and the revoke lag of a concurrent burst. */
async function localFigures(lifecycles: number, burst: number) {
  const ddb = await startDynamoDbLocal();
  try {
    const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: ddb.endpoint });
    const broker = await startLocalBroker({
      config: parsePolicyConfig({
        approvalWindowSeconds: 60,
        defaultDurationSeconds: 2,
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
    const roundTrips: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      await client.send(new DescribeTableCommand({ TableName: broker.tableName }));
      roundTrips.push(performance.now() - t0);
    }
    const submit = async (i: number, durationSeconds: number) => {
      const res = await fetch(`${broker.url}/requests`, {
        method: 'POST',
        headers: { 'x-jit-principal': `arn:aws:sts::111122223333:assumed-role/Bench/u${i}` },
        body: JSON.stringify({
          target: `arn:aws:iam::111122223333:role/bench-${i}`,
          permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bench/x'] }],
          durationSeconds,
          reason: 'benchmark run',
        }),
      });
      return ((await res.json()) as { requestId: string }).requestId;
    };
    const finish = async (id: string) => {
      await broker.workflow.executions.get(id)?.done;
      const events = await broker.deps.store.events(id);
      const granted = events.find((e) => e.to === 'GRANTED');
      const revoked = events.find((e) => e.to === 'REVOKED');
      return {
        requestedAt: Date.parse(events[0]?.at ?? ''),
        grantedAt: Date.parse(granted?.at ?? ''),
        expiresAt: Date.parse(String(granted?.details?.expiresAt ?? '')),
        revokedAt: Date.parse(revoked?.at ?? ''),
      };
    };
    const total: number[] = [];
    const toGrant: number[] = [];
    for (let i = 0; i < lifecycles; i++) {
      const t = await finish(await submit(i, 1));
      total.push(t.revokedAt - t.requestedAt);
      toGrant.push(t.grantedAt - t.requestedAt);
    }
    const ids = await Promise.all(Array.from({ length: burst }, (_, i) => submit(1000 + i, 2)));
    const lags = (await Promise.all(ids.map(finish))).map((t) => t.revokedAt - t.expiresAt);
    await broker.stop();
    client.destroy();
    const rt = median(roundTrips);
    return {
      dynamoRoundTripMs: { median: Number(rt.toFixed(2)) },
      lifecycle1sGrantMs: { median: median(total), max: Math.max(...total), runs: lifecycles },
      requestToGrantedMs: {
        median: median(toGrant),
        ratioToDynamoRoundTrip: Number((median(toGrant) / rt).toFixed(1)),
      },
      revokeLagAfterExpiryMs: { concurrent: burst, median: median(lags), max: Math.max(...lags) },
    };
  } finally {
    await ddb.stop();
  }
}

/** Which parts run: all by default; `BENCH_PARTS=transitions,concurrency` while developing. */
const PARTS = (
  process.env.BENCH_PARTS ?? 'synth,local,accounts,cli,slack,review,transitions,concurrency'
).split(',');
const part = (name: string) => PARTS.includes(name);
const envInt = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
};
/** Sizes of the concurrency part (smaller while developing: BENCH_CONCURRENT=100 BENCH_BASELINE=10). */
const CONCURRENCY = {
  large: envInt('BENCH_CONCURRENT', 1000),
  baseline: envInt('BENCH_BASELINE', 50),
  durationSeconds: envInt('BENCH_DURATION_SECONDS', 5),
  clientConcurrency: envInt('BENCH_CLIENT_CONCURRENCY', 200),
};

type Transitions = Awaited<ReturnType<typeof transitionFigures>>;
type Concurrency = Awaited<ReturnType<typeof concurrencyFigures>>;

/** The state-transition and concurrency parts, on one DynamoDB Local (each broker has its own table). */
async function lifecycleFigures() {
  if (!part('transitions') && !part('concurrency')) return {};
  const ddb = await startDynamoDbLocal();
  try {
    const transitions = part('transitions') ? await transitionFigures(ddb.endpoint) : undefined;
    const concurrency = part('concurrency') ? await concurrencyFigures(ddb.endpoint, CONCURRENCY) : undefined;
    return { transitions, concurrency };
  } finally {
    await ddb.stop();
  }
}

function transitionsMd(t: Transitions): string[] {
  const rows = t.paths.map((p) => {
    const run = p.run
      ? `${p.run.transitions}${p.run.retries ? ` (${p.run.retries} retries)` : ''}${p.run.sameStatesAsStatic ? '' : ' ≠ static'}`
      : 'not run';
    const stat = `${p.static.transitions}${p.static.retries ? ` (${p.static.retries} retries)` : ''}`;
    return `| ${p.label} | ${stat} | ${run} | ${p.states.join(' → ')} → *${p.static.end}* |`;
  });
  return [
    '## State transitions per lifecycle',
    '',
    `Convention: ${t.convention} Happy paths must stay ≤ ${t.happyPathLimit}.`,
    '',
    '| path | static (ASL walk) | run (local runtime) | states entered |',
    '|---|---|---|---|',
    ...rows,
    '',
    'Not run locally: the approval-required credentials path (its segments are run above: the approval pair and the cleanup pair), rejected at Validate (the API refuses such requests before a workflow starts; only a config change between submit and Validate reaches it), the two early-cancel races, and the grant that fails after its retries (the run covers the non-retryable grant failure).',
    ...(t.failures.length ? ['', ...t.failures.map((f) => `**FAIL** ${f}`)] : []),
  ];
}

function concurrencyMd(c: Concurrency): string[] {
  const line = (name: string, b: Concurrency['baseline']) =>
    `| ${name} | ${b.requests} (client ≤ ${b.clientConcurrency} in flight, peak ${b.peakRunningExecutions} executions running) | ${b.accepted} / ${b.revokedWithExpectedSequenceAndValidChain} / ${b.policiesLeft} | ${b.revokeLagMs.median} / ${b.revokeLagMs.p95} / ${b.revokeLagMs.max} | ${b.wallMs.firstSubmitToLastRevoked} (submits ${b.submitPhaseMs}) | ${b.transitionsPerExecution.min}–${b.transitionsPerExecution.max}, ${b.transitionsPerExecution.retries} retries |`;
  const r = c.ratioLargeToBaseline;
  return [
    `## Concurrent auto-approved lifecycles (${c.large.durationSeconds} s grants, one broker, distinct requester and target role each)`,
    '',
    '| burst | requests | accepted / REVOKED with REQUESTED→APPROVED→GRANTED→REVOKED and valid chain / policies left | revoke lag after expiresAt ms: median / p95 / max | wall ms, first submit → last REVOKED | transitions per execution |',
    '|---|---|---|---|---|---|',
    line('baseline', c.baseline),
    line('large', c.large),
    '',
    `Ratio large ÷ baseline (same run): revoke lag median ${r.revokeLagMedian}×, p95 ${r.revokeLagP95}×, max ${r.revokeLagMax}×; wall ${r.wallFirstSubmitToLastRevoked}× for ${r.requests}× the requests.`,
    ...(c.problems.length ? ['', ...c.problems.map((p) => `**FAIL** ${p}`)] : []),
  ];
}

async function main() {
  const started = new Date().toISOString();
  const partErrors: string[] = [];
  // A part that throws (e.g. cdk-nag refusing the app) is reported; the other parts still run.
  const attempt = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!part(name)) return undefined;
    try {
      return await fn();
    } catch (error) {
      partErrors.push(`${name}: ${String((error as Error)?.message ?? error).split('\n')[0]}`);
      return undefined;
    }
  };
  const synth = await attempt('synth', () => synthFigures(3));
  const local = part('local') ? await localFigures(5, 50) : undefined;
  const accounts = await attempt('accounts', () => accountsFigures());
  const cli = await attempt('cli', () => cliFigures());
  let slack: Record<string, unknown> | undefined;
  if (part('slack')) {
    try {
      const mod = (await import('./slack.ts' as string)) as {
        benchSlack?: () => Promise<Record<string, unknown>>;
      };
      slack = await mod.benchSlack?.();
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    }
  }
  const review = await attempt('review', () => reviewFigures());
  const { transitions, concurrency } = await lifecycleFigures();
  const failures = [
    ...partErrors,
    ...(cli?.failures ?? []),
    ...(review?.problems ?? []),
    ...(transitions?.failures ?? []),
    ...(concurrency?.problems ?? []),
  ];
  const results = {
    started,
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    synth,
    local,
    accounts,
    cli,
    slack,
    review,
    transitions,
    concurrency,
    failures,
  };
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  const md = [
    `# Benchmark (${started}, Node ${process.version}, ${results.cpus} CPUs)`,
    '',
    ...(synth
      ? [
          `- synth with bundling + cdk-nag: median ${synth.synthMs.median} ms (runs ${synth.synthMs.runs.join(', ')})`,
          ...Object.entries(synth.bundles).map(
            ([n, b]) => `- bundle \`${n}\`: ${kb(b.codeBytes)} code, ${kb(b.sourceMapBytes)} source map`,
          ),
        ]
      : []),
    ...(local
      ? [
          `- DynamoDB Local round trip (baseline): median ${local.dynamoRoundTripMs.median} ms`,
          `- local lifecycle, 1 s auto-approved grant, request → REVOKED: median ${local.lifecycle1sGrantMs.median} ms, max ${local.lifecycle1sGrantMs.max} ms`,
          `- request → GRANTED: median ${local.requestToGrantedMs.median} ms (${local.requestToGrantedMs.ratioToDynamoRoundTrip}× a DynamoDB round trip)`,
          `- revoke lag after expiresAt, ${local.revokeLagAfterExpiryMs.concurrent} concurrent: median ${local.revokeLagAfterExpiryMs.median} ms, max ${local.revokeLagAfterExpiryMs.max} ms`,
        ]
      : []),
    ...(accounts ? ['', ...accountsMd(accounts)] : []),
    ...(cli ? ['', ...cliMd(cli)] : []),
    ...(slack ? ['', '## Slack callback', '', '```json', JSON.stringify(slack, null, 2), '```'] : []),
    ...(review ? ['', ...reviewMd(review)] : []),
    ...(transitions ? ['', ...transitionsMd(transitions)] : []),
    ...(concurrency ? ['', ...concurrencyMd(concurrency)] : []),
    ...(partErrors.length ? ['', ...partErrors.map((e) => `**FAIL** part ${e}`)] : []),
    ...(failures.length ? ['', `**FAIL**: ${failures.length} check(s) failed (see above).`] : []),
    '',
  ].join('\n');
  // A partial run (BENCH_PARTS) does not overwrite the full results.
  const base = process.env.BENCH_PARTS ? 'partial' : 'latest';
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `${base}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(RESULTS, `${base}.md`), md);
  console.log(md);
  for (const f of failures) console.error(`FAIL ${f}`);
  if (failures.length) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
