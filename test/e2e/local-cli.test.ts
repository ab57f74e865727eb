import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEV, e2eConfig, readRequest } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const dir = mkdtempSync(join(tmpdir(), 'jit-cli-'));

/** A running `npm start` equivalent (tsx local/main.ts) with its collected output. */
interface Cli {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

/**
 * `npm start` runs `tsx local/main.ts`, and tsx runs the script in a child node process. `direct` runs that
 * node process itself (node --import tsx), so that the spawned pid is the broker's.
 */
function startCli(args: string[], { direct = false } = {}): Cli {
  const command = direct ? [process.execPath, '--import', 'tsx'] : [TSX];
  const child = spawn(command[0] as string, [...command.slice(1), 'local/main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const cli: Cli = {
    child,
    output: '',
    exited: new Promise((res) => child.once('exit', (code) => res(code))),
  };
  child.stdout?.on('data', (c: Buffer) => {
    cli.output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    cli.output += c.toString();
  });
  return cli;
}

async function waitForOutput(cli: Cli, re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = cli.output.match(re);
    if (m) return m;
    if (cli.child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${re} in:\n${cli.output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of DynamoDB Local JVMs that use `dataDir` (found by their command line, as `ps` shows it). */
function javaPidsFor(dataDir: string): number[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((line) => line.includes('DynamoDBLocal.jar') && line.includes(`-dbPath ${dataDir}`))
    .map((line) => Number.parseInt(line.trim(), 10));
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

async function stop(cli: Cli): Promise<{ code: number | null; ddbPid: number }> {
  cli.child.kill('SIGINT');
  const code = await cli.exited;
  const ddbPid = Number(cli.output.match(/DynamoDB Local pid (\d+)/)?.[1]);
  return { code, ddbPid };
}

describe('npm start (local/main.ts)', () => {
  const started: Cli[] = [];
  const orphans: number[] = [];
  afterAll(() => {
    for (const cli of started) if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    for (const pid of orphans) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a bad config before starting anything, naming the field', async () => {
    // Prepare
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ rules: [{ id: 'x', requesters: ['*'] }] }));
    // Act
    const cli = startCli(['--port', '0', '--config', file]);
    started.push(cli);
    const code = await cli.exited;
    // Assess
    expect(code).toBe(2);
    expect(cli.output).toMatch(/rules\[0\]\.targets/);
    expect(cli.output).not.toMatch(/listening on/);
  });

  it('serves on a free port, persists with --data-dir, and stops DynamoDB Local on Ctrl-C', async () => {
    // Prepare
    const config = join(dir, 'fast.json');
    const data = join(dir, 'data');
    writeFileSync(config, JSON.stringify(e2eConfig()));
    // Act: first run creates a request, second run on the same data dir still has it.
    const first = startCli(['--port', '0', '--config', config, '--data-dir', data]);
    started.push(first);
    const [, url] = await waitForOutput(first, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const health = await fetch(`${url}/_local/health`);
    const created = await fetch(`${url}/requests`, {
      method: 'POST',
      headers: { 'x-jit-principal': DEV('alice') },
      body: JSON.stringify(readRequest({ durationSeconds: 600 })),
    });
    const { requestId } = (await created.json()) as { requestId: string };
    await waitForOutput(first, new RegExp(`${requestId}\\s+REQUESTED → PENDING_APPROVAL`));
    const firstStop = await stop(first);
    const second = startCli(['--port', '0', '--config', config, '--data-dir', data]);
    started.push(second);
    const [, url2] = await waitForOutput(second, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const again = await fetch(`${url2}/requests/${requestId}`, {
      headers: { 'x-jit-principal': DEV('alice') },
    });
    const secondStop = await stop(second);
    // Assess
    expect(health.status).toBe(200);
    expect(created.status).toBe(202);
    expect(firstStop.code).toBe(0);
    expect(firstStop.ddbPid).toBeGreaterThan(0);
    expect(alive(firstStop.ddbPid)).toBe(false);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { status: string }).status).toBe('PENDING_APPROVAL');
    expect(secondStop.code).toBe(0);
    expect(alive(secondStop.ddbPid)).toBe(false);
  }, 180_000);

  it('takes DynamoDB Local down with it when killed with SIGKILL, and starts again on the same data', async () => {
    // Prepare
    const config = join(dir, 'kill.json');
    const data = join(dir, 'killed');
    writeFileSync(config, JSON.stringify(e2eConfig()));
    const first = startCli(['--port', '0', '--config', config, '--data-dir', data], { direct: true });
    started.push(first);
    await waitForOutput(first, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const javaBefore = javaPidsFor(data);
    orphans.push(...javaBefore);
    // Act: no handler runs on SIGKILL; only the JVM's own link to this process can end it.
    first.child.kill('SIGKILL');
    await first.exited;
    const gone = await waitUntil(() => javaBefore.every((pid) => !alive(pid)), 8000);
    const second = startCli(['--port', '0', '--config', config, '--data-dir', data]);
    started.push(second);
    const [, url] = await waitForOutput(second, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const health = await fetch(`${url}/_local/health`);
    const secondStop = await stop(second);
    // Assess
    expect(javaBefore).toHaveLength(1);
    expect(gone).toBe(true);
    expect(health.status).toBe(200);
    expect(secondStop.code).toBe(0);
    expect(alive(secondStop.ddbPid)).toBe(false);
    expect(javaPidsFor(data)).toEqual([]);
  }, 180_000);
});
