import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalBroker } from '../../local/runtime.ts';
import { ACCOUNT, APPROVER, arn, DEV, e2eConfig, startBroker, stored, waitForStatus } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '../..');
/** The launcher `npx jit` runs in this repository (tsx on the TypeScript source). */
const LAUNCHER = join(ROOT, 'cli', 'jit.mjs');
const ROLE = arn.role('app-reader');
const OBJECT = 'arn:aws:s3:::app-data/reports/q3.csv';

/** `jit` as a child process, its output collected as it comes. */
interface Running {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function start(broker: LocalBroker, args: readonly string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [LAUNCHER, ...args], {
    cwd: ROOT,
    env: { ...process.env, JIT_API_URL: broker.url, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Running = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((res) => child.once('exit', (code) => res(code))),
  };
  child.stdout?.on('data', (c: Buffer) => {
    run.stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    run.stderr += c.toString();
  });
  return run;
}

/** Runs `jit` to the end: exit code, stdout, stderr. */
async function jit(broker: LocalBroker, args: readonly string[], env: Record<string, string> = {}) {
  const run = start(broker, args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout, stderr: run.stderr };
}

/** `jit --local --as <principal> …`. */
const as = (principal: string, ...args: string[]) => ['--local', '--as', principal, ...args];

/** Waits for a line in a running jit's stderr. */
async function stderrMatch(run: Running, re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = run.stderr.match(re);
    if (m) return m;
    if (run.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`no ${re} in stderr:\n${run.stderr}\nstdout:\n${run.stdout}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const REQUEST = ['request', '--target', ROLE, '--action', 's3:GetObject', '--resource', OBJECT];

describe('jit CLI against the local runtime', () => {
  let broker: LocalBroker;
  beforeAll(async () => {
    broker = await startBroker(
      e2eConfig({
        rules: [
          ...(e2eConfig().rules ?? []),
          {
            id: 'ops-only',
            requesters: [arn.assumed('Operator', '*')],
            targets: [arn.role('ops-*')],
            actions: ['ec2:RebootInstances'],
            resources: ['*'],
            maxDurationSeconds: 600,
            approval: 'auto',
          },
        ],
      }),
    );
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('lists exactly the rules the caller may request under', async () => {
    // Act
    const dev = await jit(broker, as(DEV('rita'), 'rules', '--json'));
    const human = await jit(broker, as(DEV('rita'), 'rules'));
    const approver = await jit(broker, as(APPROVER('bob'), '--json', 'rules'));
    // Assess
    expect(dev.code).toBe(0);
    expect((JSON.parse(dev.stdout) as { rules: { id: string }[] }).rules.map((r) => r.id)).toEqual([
      'app-read',
      'logs-auto',
    ]);
    expect(human.stdout).toContain('app-read');
    expect(human.stdout).toContain('1 of assumed-role/Approver/*');
    expect(human.stdout).not.toContain('ops-only');
    expect(JSON.parse(approver.stdout)).toEqual({ rules: [] });
  });

  it('asks for everything a rule allows with --rule', async () => {
    // Act
    const out = await jit(
      broker,
      as(
        DEV('rolf'),
        'request',
        '--rule',
        'app-read',
        '--target',
        ROLE,
        '--reason',
        'the whole rule',
        '--json',
      ),
    );
    // Assess
    expect(out.code).toBe(0);
    const { requestId } = JSON.parse(out.stdout) as { requestId: string };
    const request = await stored(broker, requestId);
    expect(request.ruleId).toBe('app-read');
    expect(request.permissions).toEqual([
      {
        actions: ['s3:GetObject', 's3:ListBucket'],
        resources: ['arn:aws:s3:::app-data', 'arn:aws:s3:::app-data/*'],
      },
    ]);
  });

  it('waits through an approval given with the CLI by another principal, and exits 0 once granted', async () => {
    // Prepare
    const waiting = start(
      broker,
      as(DEV('alice'), ...REQUEST, '--duration', '30', '--reason', 'e2e: approve', '--wait'),
    );
    const [, id = ''] = await stderrMatch(waiting, /requested (\S+);/);
    await stderrMatch(waiting, /PENDING_APPROVAL {2}approvals 0\/1/);
    // Act
    const pending = await jit(broker, as(APPROVER('bob'), 'pending'));
    const approve = await jit(broker, as(APPROVER('bob'), 'approve', id, '--comment', 'ok'));
    const code = await waiting.exited;
    // Assess
    expect(pending.stdout).toContain(id);
    expect(approve).toMatchObject({
      code: 0,
      stdout: expect.stringContaining(`${id}  APPROVED  approvals 1/1`),
    });
    expect(code).toBe(0);
    expect(waiting.stdout).toMatch(new RegExp(`^${id} {2}GRANTED {2}until `));
    expect(waiting.stderr).toMatch(/GRANTED/);
    expect(broker.iam.policiesOf(ROLE)[`jit-${id}`]).toBeDefined();
  });

  it('exits 2 when an approver denies, with the reason on stderr', async () => {
    // Prepare
    const waiting = start(broker, as(DEV('dora'), ...REQUEST, '--reason', 'e2e: deny', '--wait'));
    const [, id = ''] = await stderrMatch(waiting, /requested (\S+);/);
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    // Act
    const deny = await jit(broker, as(APPROVER('bob'), 'deny', id, '--reason', 'use the read-only role'));
    const code = await waiting.exited;
    // Assess
    expect(deny.code).toBe(0);
    expect(code).toBe(2);
    expect(waiting.stdout.trim()).toBe(`${id}  DENIED`);
    expect(waiting.stderr).toContain('use the read-only role');
  });

  it('exits 4 when --timeout passes first, and says how to resume', async () => {
    // Act
    const out = await jit(
      broker,
      as(DEV('tim'), ...REQUEST, '--reason', 'e2e: timeout', '--wait', '--timeout', '2'),
    );
    // Assess
    expect(out.code).toBe(4);
    const [, id = ''] = out.stderr.match(/requested (\S+);/) ?? [];
    expect(out.stderr).toContain(`jit wait ${id}`);
    expect((await stored(broker, id)).status).toBe('PENDING_APPROVAL');
  });

  it('stops waiting on Ctrl-C with exit 130, leaving the request pending', async () => {
    // Prepare
    const waiting = start(broker, as(DEV('carl'), ...REQUEST, '--reason', 'e2e: interrupt', '--wait'));
    const [, id = ''] = await stderrMatch(waiting, /requested (\S+);/);
    await stderrMatch(waiting, /PENDING_APPROVAL/);
    // Act
    waiting.child.kill('SIGINT');
    const code = await waiting.exited;
    // Assess
    expect(code).toBe(130);
    expect(waiting.stderr).toContain(`Resume with: jit wait ${id}`);
    expect((await stored(broker, id)).status).toBe('PENDING_APPROVAL');
  });

  it('exits 5 on an invalid request, naming the field on one stderr line', async () => {
    // Act
    const out = await jit(broker, as(DEV('ivan'), ...REQUEST, '--reason', 'no', '--duration', '30m'));
    const usage = await jit(broker, as(DEV('ivan'), 'request', '--duration', '1x'));
    // Assess
    expect(out.code).toBe(5);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe('jit: InvalidRequest: reason must be at least 3 characters\n');
    expect(usage.code).toBe(5);
    expect(usage.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 6 when the caller may not do it', async () => {
    // Act
    const out = await jit(broker, as(arn.assumed('Operator', 'olga'), ...REQUEST, '--reason', 'not mine'));
    // Assess
    expect(out.code).toBe(6);
    expect(out.stderr).toMatch(
      /^jit: NotEligible: target no policy rule lets .* request access to this target\n$/,
    );
  });

  it('refuses --local for a URL that is not loopback: exit 1, one line', async () => {
    // Act
    const out = await jit(broker, [
      '--local',
      '--as',
      DEV('eve'),
      '--api',
      'http://example.com:8787',
      'rules',
    ]);
    const env = await jit(broker, ['--local', '--as', DEV('eve'), 'list'], {
      JIT_API_URL: 'http://10.1.2.3:8787',
    });
    // Assess
    expect(out.code).toBe(1);
    expect(out.stderr).toBe(
      'jit: --local refuses to send x-jit-principal to example.com:8787: only to 127.0.0.1, localhost or [::1]\n',
    );
    expect(env.code).toBe(1);
  });

  it('cancels, lists every page, shows a request, and exits 3 waiting on a cancelled one', async () => {
    // Prepare
    const me = DEV('lena');
    const ids: string[] = [];
    for (const reason of ['one', 'two', 'three']) {
      const out = await jit(broker, as(me, ...REQUEST, '--reason', `e2e: ${reason}`));
      ids.push(out.stdout.trim());
    }
    const [first = ''] = ids;
    await waitForStatus(broker, first, 'PENDING_APPROVAL');
    // Act
    const cancel = await jit(broker, as(me, 'cancel', first));
    const list = await jit(broker, as(me, 'list', '--limit', '1', '--json'));
    const status = await jit(broker, as(me, 'status', first));
    const wait = await jit(broker, as(me, 'wait', first));
    // Assess
    expect(cancel).toMatchObject({ code: 0, stdout: `${first}  CANCELLED\n` });
    expect(
      (JSON.parse(list.stdout) as { requests: { id: string }[] }).requests.map((r) => r.id).sort(),
    ).toEqual([...ids].sort());
    expect(status.stdout).toContain(`${first}  CANCELLED`);
    expect(status.stdout).toContain('hash chain intact');
    expect(wait.code).toBe(3);
  });

  it('revokes granted access early', async () => {
    // Prepare
    const me = DEV('remy');
    const granted = await jit(
      broker,
      as(
        me,
        'request',
        '--target',
        arn.role('ops-tools'),
        '--action',
        'logs:GetLogEvents',
        '--resource',
        `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/app/web`,
        '--duration',
        '10m',
        '--reason',
        'e2e: revoke',
        '--wait',
      ),
    );
    const id = granted.stdout.split(' ')[0] ?? '';
    // Act
    const revoke = await jit(broker, as(me, 'revoke', id, '--reason', 'done'));
    // Assess
    expect(granted.code).toBe(0);
    expect(revoke).toMatchObject({ code: 0, stdout: `${id}  REVOKED\n` });
    expect(broker.iam.policiesOf(arn.role('ops-tools'))[`jit-${id}`]).toBeUndefined();
  });

  it("completes commands and, after --rule, the caller's rule ids in bash", async () => {
    // Prepare
    const bin = mkdtempSync(join(tmpdir(), 'jit-bin-'));
    const shim = join(bin, 'jit');
    writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${LAUNCHER}" "$@"\n`);
    chmodSync(shim, 0o755);
    const complete = (words: string) =>
      new Promise<string>((res, rej) => {
        const child = spawn(
          'bash',
          [
            '-c',
            `source <(jit completion bash); COMP_WORDS=(${words}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _jit; echo "\${COMPREPLY[*]}"`,
          ],
          {
            env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, JIT_API_URL: broker.url },
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
        });
        child.once('exit', (code) => (code === 0 ? res(out.trim()) : rej(new Error(`bash exited ${code}`))));
      });
    try {
      // Act
      const commands = await complete('jit re');
      const rules = await complete(`jit --local --as ${DEV('cora')} request --rule ""`);
      // Assess
      expect(commands.split(' ').sort()).toEqual(['request', 'review', 'revoke']);
      expect(rules).toBe('app-read logs-auto');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe('jit CLI: approval window', () => {
  let broker: LocalBroker;
  beforeAll(async () => {
    broker = await startBroker(e2eConfig({ approvalWindowSeconds: 2 }));
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('exits 3 when nobody approves within the window', async () => {
    // Act
    const out = await jit(
      broker,
      as(DEV('alma'), ...REQUEST, '--reason', 'e2e: expire', '--wait', '--timeout', '30'),
    );
    // Assess
    expect(out.code).toBe(3);
    expect(out.stdout).toMatch(/ {2}APPROVAL_EXPIRED\n$/);
    expect(out.stderr).toMatch(/ended APPROVAL_EXPIRED/);
  });
});
