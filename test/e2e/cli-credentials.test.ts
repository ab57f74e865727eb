import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fromProcess } from '@aws-sdk/credential-provider-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalBroker } from '../../local/runtime.ts';
import { arn, call, DEV, e2eConfig, startBroker, stored, submit, waitForStatus } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const JIT = join(ROOT, 'cli', 'jit.mjs');
const ROLE = 'jit-release-prod';
const ALICE = DEV('alice');
const dir = mkdtempSync(join(tmpdir(), 'jit-cli-credentials-'));
const CACHE_HOME = join(dir, 'cache');

/** A `jit` process with its collected output. */
interface Jit {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function credentialsRequest(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'credentials',
    target: arn.role(ROLE),
    permissions: [{ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::release-artifacts/app/*'] }],
    durationSeconds: 120,
    reason: 'e2e: jit credentials',
    ...overrides,
  };
}

/** The command's stdout as JSON lines printed by the test's own child commands. */
function lines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitForOutput(jit: Jit, re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = jit.stdout.match(re);
    if (m) return m;
    if (jit.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`no ${re} in stdout:\n${jit.stdout}\nstderr:\n${jit.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('jit CLI: credentials, credential_process and exec against the local runtime', () => {
  let broker: LocalBroker;
  let stopped = false;
  const runs: Jit[] = [];

  /** Runs `jit --local --as <principal> --api <broker> …args` as a child process. */
  function jit(args: readonly string[], env: Record<string, string> = {}, principal = ALICE): Jit {
    const child = spawn(process.execPath, [JIT, '--local', '--as', principal, '--api', broker.url, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        XDG_CACHE_HOME: CACHE_HOME,
        XDG_CONFIG_HOME: join(dir, 'config'),
        NO_COLOR: '1',
        ...env,
      },
    });
    const run: Jit = {
      child,
      stdout: '',
      stderr: '',
      exited: new Promise((res) => child.once('exit', (code, signal) => res({ code, signal }))),
    };
    runs.push(run);
    child.stdout?.on('data', (c: Buffer) => {
      run.stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      run.stderr += c.toString();
    });
    return run;
  }

  const sessionOf = (id: string) => broker.sts.sessions.find((s) => s.userId.endsWith(`:jit-${id}`));
  const lastEvent = async (id: string) => (await broker.deps.store.events(id)).at(-1);

  beforeAll(async () => {
    const config = e2eConfig();
    broker = await startBroker(
      {
        ...config,
        rules: [
          ...config.rules,
          {
            id: 'release',
            kind: 'credentials',
            requesters: [DEV('*')],
            targets: [arn.role('jit-release-*')],
            actions: ['s3:PutObject', 's3:GetObject'],
            resources: ['arn:aws:s3:::release-artifacts/*'],
            maxDurationSeconds: 3600,
            approval: 'auto',
          },
        ],
      },
      // STS's 900 s minimum lives 300 s here: longer than the 120 s grants, so the clamp to expiresAt shows.
      { sessionLifetimeScale: 300 / 900 },
    );
  });
  afterAll(async () => {
    // A failed test may leave a jit behind (its command ends itself within 20 s).
    for (const run of runs)
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill();
    if (!stopped) await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a command with the grant’s credentials, revokes the grant when it exits, and returns its exit code', async () => {
    // Act
    const run = jit(
      [
        'exec',
        '--kind',
        'credentials',
        '--target',
        arn.role(ROLE),
        '--action',
        's3:PutObject',
        '--resource',
        'arn:aws:s3:::release-artifacts/app/*',
        '--duration',
        '2m',
        '--reason',
        'e2e: exec',
        '--',
        process.execPath,
        '-e',
        'const e = process.env; console.log(JSON.stringify({ id: e.JIT_REQUEST_ID, key: e.AWS_ACCESS_KEY_ID, token: !!e.AWS_SESSION_TOKEN, exp: e.AWS_CREDENTIAL_EXPIRATION, profile: e.AWS_PROFILE ?? null })); process.exit(7)',
      ],
      { AWS_PROFILE: 'someone-else' },
    );
    const { code } = await run.exited;
    const seen = lines(run.stdout)[0] as {
      id: string;
      key: string;
      token: boolean;
      exp: string;
      profile: null;
    };
    const request = await stored(broker, seen.id);
    const revoked = await lastEvent(seen.id);
    // Assess
    expect(code).toBe(7);
    expect(seen).toMatchObject({ key: sessionOf(seen.id)?.accessKeyId, token: true, profile: null });
    expect(Date.parse(seen.exp)).toBeLessThanOrEqual(Date.parse(request.expiresAt ?? ''));
    expect(request.status).toBe('REVOKED');
    expect(revoked).toMatchObject({ to: 'REVOKED', actor: ALICE, details: { reason: 'command finished' } });
    expect(Date.parse(revoked?.at ?? '')).toBeLessThan(Date.parse(request.expiresAt ?? ''));
    expect(run.stderr).toContain(`revoked ${seen.id}`);
  });

  it('revokes the grant and exits 143 when the command is killed by SIGTERM', async () => {
    // Prepare
    const run = jit([
      'exec',
      '--rule',
      'release',
      '--target',
      arn.role(ROLE),
      '--reason',
      'e2e: killed',
      '--',
      process.execPath,
      '-e',
      'console.log(JSON.stringify({ id: process.env.JIT_REQUEST_ID, pid: process.pid })); setTimeout(() => process.exit(99), 20000)',
    ]);
    await waitForOutput(run, /"pid":\d+/);
    const { id, pid } = lines(run.stdout)[0] as { id: string; pid: number };
    // Act
    process.kill(pid, 'SIGTERM');
    const { code } = await run.exited;
    // Assess
    expect(code).toBe(143);
    expect(await lastEvent(id)).toMatchObject({
      to: 'REVOKED',
      actor: ALICE,
      details: { reason: 'command finished' },
    });
  });

  it('passes Ctrl-C (SIGINT to jit) on to the command, then revokes, and returns the command’s code', async () => {
    // Prepare
    const run = jit([
      'exec',
      '--rule',
      'release',
      '--target',
      arn.role(ROLE),
      '--reason',
      'e2e: ctrl-c',
      '--',
      process.execPath,
      '-e',
      "process.on('SIGINT', () => { console.log(JSON.stringify({ got: 'SIGINT' })); process.exit(42) }); console.log(JSON.stringify({ id: process.env.JIT_REQUEST_ID })); setTimeout(() => process.exit(99), 20000)",
    ]);
    await waitForOutput(run, /"id":/);
    const { id } = lines(run.stdout)[0] as { id: string };
    // Act
    run.child.kill('SIGINT');
    const { code } = await run.exited;
    // Assess
    expect(code).toBe(42);
    expect(lines(run.stdout)).toContainEqual({ got: 'SIGINT' });
    expect(await lastEvent(id)).toMatchObject({
      to: 'REVOKED',
      actor: ALICE,
      details: { reason: 'command finished' },
    });
  });

  it('revokes the grant and exits 127 with one line when the command cannot be started', async () => {
    // Act
    const run = jit([
      'exec',
      '--rule',
      'release',
      '--target',
      arn.role(ROLE),
      '--reason',
      'e2e: typo',
      '--',
      'no-such-command-jit',
    ]);
    const { code } = await run.exited;
    const id = /requested (\S+);/.exec(run.stderr)?.[1] ?? '';
    // Assess
    expect(code).toBe(127);
    expect(run.stderr).toMatch(/^jit: cannot run no-such-command-jit: ENOENT$/m);
    expect(await lastEvent(id)).toMatchObject({ to: 'REVOKED', details: { reason: 'command finished' } });
  });

  it('runs a command under a policy grant: the policy is on the target while it runs, gone when it exits', async () => {
    // Act
    const run = jit([
      'exec',
      '--rule',
      'logs-auto',
      '--target',
      arn.role('ops-runner'),
      '--duration',
      '5m',
      '--reason',
      'e2e: policy exec',
      '--',
      process.execPath,
      '-e',
      `fetch('${broker.url}/_local/iam').then((r) => r.text()).then((iam) => console.log(JSON.stringify({ id: process.env.JIT_REQUEST_ID, key: process.env.AWS_ACCESS_KEY_ID, iam })))`,
    ]);
    const { code } = await run.exited;
    const seen = lines(run.stdout)[0] as { id: string; key: string; iam: string };
    // Assess
    expect(code).toBe(0);
    expect(seen.key).toBe(process.env.AWS_ACCESS_KEY_ID);
    expect(seen.iam).toContain(`jit-${seen.id}`);
    expect(broker.iam.policiesOf(arn.role('ops-runner'))[`jit-${seen.id}`]).toBeUndefined();
    expect(await lastEvent(seen.id)).toMatchObject({
      to: 'REVOKED',
      actor: ALICE,
      details: { reason: 'command finished' },
    });
  });

  it('reuses an active grant: kept with --keep, revoked without', async () => {
    // Prepare
    const id = await submit(broker, ALICE, credentialsRequest());
    await waitForStatus(broker, id, 'GRANTED');
    const child = [
      process.execPath,
      '-e',
      'console.log(JSON.stringify({ key: process.env.AWS_ACCESS_KEY_ID }))',
    ];
    // Act
    const kept = jit(['exec', '--reuse', id, '--keep', '--', ...child]);
    const keptExit = await kept.exited;
    const afterKeep = await stored(broker, id);
    const again = jit(['exec', '--reuse', id, '--', ...child]);
    const againExit = await again.exited;
    // Assess
    expect(keptExit.code).toBe(0);
    expect(afterKeep.status).toBe('GRANTED');
    expect(againExit.code).toBe(0);
    // The second run found the credentials in the cache: the broker hands them out once.
    expect(lines(again.stdout)[0]).toEqual(lines(kept.stdout)[0]);
    expect(lines(kept.stdout)[0]).toEqual({ key: sessionOf(id)?.accessKeyId });
    expect(await lastEvent(id)).toMatchObject({ to: 'REVOKED', details: { reason: 'command finished' } });
    expect(() => statSync(join(CACHE_HOME, 'jit', `${id}.json`))).toThrow();
  });

  it('refuses a revoked grant, and credentials collected elsewhere, with one line and a non-zero exit', async () => {
    // Prepare
    const revokedId = await submit(broker, ALICE, credentialsRequest());
    await waitForStatus(broker, revokedId, 'GRANTED');
    await call(broker, ALICE, 'POST', `/requests/${revokedId}/revoke`, { reason: 'e2e' });
    const elsewhereId = await submit(broker, ALICE, credentialsRequest());
    await waitForStatus(broker, elsewhereId, 'GRANTED');
    await call(broker, ALICE, 'GET', `/requests/${elsewhereId}/credentials`);
    // Act
    const revoked = jit(['credential-process', revokedId]);
    const revokedExit = await revoked.exited;
    const elsewhere = jit(['credential-process', elsewhereId]);
    const elsewhereExit = await elsewhere.exited;
    // Assess
    expect(revokedExit.code).toBe(3);
    expect(revoked.stdout).toBe('');
    expect(revoked.stderr).toMatch(new RegExp(`^jit: request ${revokedId} is REVOKED: [^\\n]+\\n$`));
    expect(elsewhereExit.code).toBe(1);
    expect(elsewhere.stdout).toBe('');
    expect(elsewhere.stderr).toMatch(
      new RegExp(`^jit: the credentials of ${elsewhereId} were already collected at [^\\n]+\\n$`),
    );
  });

  it('serves the AWS SDK through credential_process, clamped to expiresAt, then from the cache with the broker stopped', async () => {
    // Prepare: the profile block as `jit request --print-profile` prints it, `jit` being this checkout's.
    const request = jit([
      'request',
      '--rule',
      'release',
      '--target',
      arn.role(ROLE),
      '--action',
      's3:PutObject',
      '--resource',
      'arn:aws:s3:::release-artifacts/app/*',
      '--duration',
      '2m',
      '--reason',
      'e2e: credential_process',
      '--wait',
      '--print-profile',
      'jit-e2e',
    ]);
    expect((await request.exited).code).toBe(0);
    const block = request.stdout.slice(request.stdout.indexOf('[profile jit-e2e]'));
    const id = /credential-process (\S+)/.exec(block)?.[1] ?? '';
    const configFile = join(dir, 'aws-config');
    writeFileSync(configFile, block.replace('= jit ', `= '${process.execPath}' '${JIT}' `));
    const profile = { profile: 'jit-e2e', configFilepath: configFile, filepath: join(dir, 'no-credentials') };
    const oldCache = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = CACHE_HOME;
    try {
      // Act
      const first = await fromProcess(profile)();
      const granted = await stored(broker, id);
      const session = sessionOf(id);
      const cacheFile = join(CACHE_HOME, 'jit', `${id}.json`);
      const modes = {
        file: statSync(cacheFile).mode & 0o777,
        dir: statSync(join(CACHE_HOME, 'jit')).mode & 0o777,
      };
      await broker.stop();
      stopped = true;
      const second = await fromProcess(profile)();
      // Assess
      expect(block).toMatch(
        /^\[profile jit-e2e\]\ncredential_process = jit --api \S+ --local --as \S+ credential-process \S+\n$/,
      );
      expect(first.accessKeyId).toBe(session?.accessKeyId);
      expect(first.sessionToken).toBeTruthy();
      expect(Date.parse(session?.expiresAt ?? '')).toBeGreaterThan(Date.parse(granted.expiresAt ?? ''));
      expect(first.expiration?.getTime()).toBe(Date.parse(granted.expiresAt ?? ''));
      expect(granted.credentialsCollectedAt).toBeDefined();
      expect(modes).toEqual({ file: 0o600, dir: 0o700 });
      expect(second).toMatchObject({
        accessKeyId: first.accessKeyId,
        secretAccessKey: first.secretAccessKey,
        expiration: first.expiration,
      });
    } finally {
      if (oldCache === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = oldCache;
    }
  });
});
