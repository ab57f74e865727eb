/**
 * `jit` CLI figures, each a fresh process as a user or the AWS CLI starts it:
 * - start: `jit --version` against a bare `node -e 0` in the same run (goal ≤ 3×);
 * - `jit credential-process <id>` answered from the cache (goal ≤ 300 ms wall), its --api pointing at a
 *   closed port, so any network call would fail the run;
 * - an auto-approved credentials request on the local runtime, from starting `jit request --wait` to the
 *   credentials on the stdout of `jit credential-process` (goal ≤ 2 s).
 * `jit` is the built `dist/jit.mjs` when it is present and newer than every `cli/` source, else the source
 * through tsx (`cli/jit.mjs`); the figures say which. Called from bench/run.ts; `npx tsx bench/cli.ts` prints
 * the figures alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parsePolicyConfig } from '#core/policy/config.ts';
import { writeCached } from '../cli/credentials-cache.ts';
import { startDynamoDbLocal } from '../local/engines/dynamodb-local.ts';
import { startLocalBroker } from '../local/runtime.ts';
import { median } from './stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist', 'jit.mjs');
const SOURCE = join(ROOT, 'cli', 'jit.mjs');
const PRINCIPAL = 'arn:aws:sts::111122223333:assumed-role/Bench/cli';
const GOALS = { startRatio: 3, credentialProcessCachedMs: 300, requestToCredentialsMs: 2000 };

/** The newest modification time under `dir` (files only). */
function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((t, e) => Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs), 0);
}

/** Which `jit` to run: the bundle when it is current, else the TypeScript source through tsx. */
function whichJit(): { readonly entry: string; readonly bundle: boolean; readonly label: string } {
  if (existsSync(DIST) && statSync(DIST).mtimeMs >= newest(join(ROOT, 'cli'))) {
    return { entry: DIST, bundle: true, label: 'dist/jit.mjs (built bundle)' };
  }
  const why = existsSync(DIST) ? 'dist/jit.mjs older than cli/' : 'no dist/jit.mjs';
  return {
    entry: SOURCE,
    bundle: false,
    label: `cli/jit.mjs via tsx (${why}: goals not checked; npm run build:cli first)`,
  };
}

/** Runs a process to its end: wall time, exit code, stdout. Throws on a non-zero exit. */
function timed(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  return new Promise<{ ms: number; stdout: string }>((res, rej) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', rej);
    child.once('close', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) res({ ms, stdout });
      else rej(new Error(`${args.slice(1).join(' ')} exited ${code}: ${stderr.trim().split('\n').at(-1)}`));
    });
  });
}

const round = (n: number) => Math.round(n);

/** The CLI figures; `runs` processes per figure (≥ 5). */
export async function cliFigures(runs = 7) {
  const jit = whichJit();
  const work = mkdtempSync(join(tmpdir(), 'jit-bench-cli-'));
  const env = { ...process.env, XDG_CACHE_HOME: join(work, 'cache'), XDG_CONFIG_HOME: join(work, 'config') };
  try {
    // Start: alternate the two so both see the same machine load.
    const bare: number[] = [];
    const version: number[] = [];
    await timed(['-e', '0']);
    await timed([jit.entry, '--version'], env);
    for (let i = 0; i < runs; i++) {
      bare.push((await timed(['-e', '0'])).ms);
      version.push((await timed([jit.entry, '--version'], env)).ms);
    }

    // credential-process from the cache, with no broker to reach.
    const cachedId = 'bench-cached';
    writeCached(
      cachedId,
      {
        Version: 1,
        AccessKeyId: 'ASIABENCHEXAMPLE',
        SecretAccessKey: 'bench',
        SessionToken: 'bench',
        Expiration: new Date(Date.now() + 3600_000).toISOString(),
      },
      env,
    );
    const cachedArgs = [jit.entry, '--local', '--as', PRINCIPAL, '--api', 'http://127.0.0.1:9'];
    const cached: number[] = [];
    for (let i = 0; i < runs; i++) {
      cached.push((await timed([...cachedArgs, 'credential-process', cachedId], env)).ms);
    }

    // request --wait → credential-process, on the local runtime.
    const ddb = await startDynamoDbLocal();
    const toCredentials: number[] = [];
    const waited: number[] = [];
    try {
      const broker = await startLocalBroker({
        config: parsePolicyConfig({
          approvalWindowSeconds: 60,
          defaultDurationSeconds: 3,
          minDurationSeconds: 1,
          rules: [
            {
              id: 'bench-credentials',
              kind: 'credentials',
              requesters: ['arn:aws:sts::111122223333:assumed-role/Bench/*'],
              targets: ['arn:aws:iam::111122223333:role/jit-bench-*'],
              actions: ['s3:GetObject'],
              resources: ['arn:aws:s3:::bench/*'],
              maxDurationSeconds: 3600,
              approval: 'auto',
            },
          ],
        }),
        port: 0,
        ddbEndpoint: ddb.endpoint,
        // 3 s grants whose STS credentials live 4 s: every execution ends within seconds of the last run.
        sessionLifetimeScale: 4 / 900,
        log: () => {},
      });
      const ids: string[] = [];
      try {
        const base = [jit.entry, '--local', '--as', PRINCIPAL, '--api', broker.url];
        for (let i = 0; i < Math.max(5, Math.ceil(runs / 2) + 1); i++) {
          const t0 = performance.now();
          const requested = await timed(
            [
              ...base,
              '--json',
              'request',
              '--kind',
              'credentials',
              '--target',
              `arn:aws:iam::111122223333:role/jit-bench-${i}`,
              '--action',
              's3:GetObject',
              '--resource',
              'arn:aws:s3:::bench/*',
              '--duration',
              '3s',
              '--reason',
              'benchmark run',
              '--wait',
            ],
            env,
          );
          const { id } = JSON.parse(requested.stdout) as { id: string };
          const got = await timed([...base, 'credential-process', id], env);
          const ms = performance.now() - t0;
          if (!(JSON.parse(got.stdout) as { AccessKeyId?: string }).AccessKeyId)
            throw new Error('no credentials');
          ids.push(id);
          waited.push(requested.ms);
          toCredentials.push(ms);
        }
        await Promise.all(ids.map((id) => broker.workflow.executions.get(id)?.done));
      } finally {
        await broker.stop();
      }
    } finally {
      await ddb.stop();
    }

    const ratio = median(version) / median(bare);
    // The goals are the shipped CLI's: checked against the bundle only (tsx compiles at every start).
    const failures = !jit.bundle
      ? []
      : [
          ...(ratio > GOALS.startRatio
            ? [`cli: jit --version is ${ratio.toFixed(1)}× node -e 0 (goal ≤ 3×)`]
            : []),
          ...(median(cached) > GOALS.credentialProcessCachedMs
            ? [`cli: credential-process from the cache ${round(median(cached))} ms (goal ≤ 300 ms)`]
            : []),
          ...(median(toCredentials) > GOALS.requestToCredentialsMs
            ? [`cli: request --wait → credentials ${round(median(toCredentials))} ms (goal ≤ 2000 ms)`]
            : []),
        ];
    return {
      jit: jit.label,
      runs,
      startMs: {
        nodeBare: round(median(bare)),
        jitVersion: round(median(version)),
        ratio: Number(ratio.toFixed(2)),
        goalRatio: GOALS.startRatio,
      },
      credentialProcessCachedMs: { median: round(median(cached)), max: round(Math.max(...cached)) },
      requestWaitToCredentialsMs: {
        runs: toCredentials.length,
        median: round(median(toCredentials)),
        requestWaitMedian: round(median(waited)),
        max: round(Math.max(...toCredentials)),
      },
      failures,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The figures as bench/results markdown lines. */
export function cliMd(c: Awaited<ReturnType<typeof cliFigures>>): string[] {
  return [
    `## jit CLI (${c.jit}; medians of ${c.runs} fresh processes)`,
    '',
    `- start, \`jit --version\`: ${c.startMs.jitVersion} ms vs \`node -e 0\` ${c.startMs.nodeBare} ms = ${c.startMs.ratio}× (goal ≤ ${c.startMs.goalRatio}×)`,
    `- \`jit credential-process\` from the cache (no network): ${c.credentialProcessCachedMs.median} ms, max ${c.credentialProcessCachedMs.max} ms (goal ≤ 300 ms)`,
    `- auto-approved credentials request, \`jit request --wait\` start → credentials on stdout of \`jit credential-process\`: ${c.requestWaitToCredentialsMs.median} ms over ${c.requestWaitToCredentialsMs.runs} runs (request --wait alone ${c.requestWaitToCredentialsMs.requestWaitMedian} ms; max ${c.requestWaitToCredentialsMs.max} ms; goal ≤ 2000 ms)`,
    ...c.failures.map((f) => `**FAIL** ${f}`),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await cliFigures();
  console.log(cliMd(figures).join('\n'));
}
