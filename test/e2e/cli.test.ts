import { type ChildProcess, spawn } from 'node:child_process';
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

function startCli(args: string[]): Cli {
  const child = spawn(TSX, ['local/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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

async function stop(cli: Cli): Promise<{ code: number | null; ddbPid: number }> {
  cli.child.kill('SIGINT');
  const code = await cli.exited;
  const ddbPid = Number(cli.output.match(/DynamoDB Local pid (\d+)/)?.[1]);
  return { code, ddbPid };
}

describe('npm start (local/main.ts)', () => {
  const started: Cli[] = [];
  afterAll(() => {
    for (const cli of started) if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
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
});
