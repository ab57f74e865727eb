/**
 * A fake broker API for the CLI command tests: `fetch` stubbed on the global, answering by method and path,
 * recording every call (with its JSON body); stdout and stderr captured; `jit` run against the local runtime
 * URL. No network.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';
import { run } from '../../../cli/program.ts';

/** One call the fake API received. */
export interface ApiCall {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

/** An answer of the fake API. */
export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** Answers a call; `n` counts the calls to the same method and path so far (0 for the first). */
export type ApiHandler = (call: ApiCall, n: number) => ApiAnswer;

export const NOT_FOUND: ApiAnswer = {
  status: 404,
  body: { error: { code: 'NotFound', message: 'no route' } },
};

/** The contract's error body. */
export function apiError(status: number, code: string, message: string, field?: string): ApiAnswer {
  return {
    status,
    body: { error: { code, message, ...(field ? { details: [{ field, message }] } : {}) } },
  };
}

/** Stubs the global fetch with `handler`; returns the calls it receives (filled as they come). */
export function fakeApi(handler: ApiHandler): { readonly calls: ApiCall[] } {
  const calls: ApiCall[] = [];
  const seen = new Map<string, number>();
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    const path = new URL(url).pathname;
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
    const call = { method, path, body };
    calls.push(call);
    const key = `${method} ${path}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    const answer = handler(call, n);
    return new Response(JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json' },
    });
  });
  return { calls };
}

/** What a `jit` run printed. */
export interface Captured {
  stdout: string;
  stderr: string;
}

/**
 * Registers the hooks of a command test (no colour, a fresh config directory, captured streams, everything
 * restored after) and returns the captured output and `jit(...args)` calling the local runtime as `caller`.
 */
export function cliHarness(caller: string): {
  readonly out: Captured;
  readonly jit: (...args: string[]) => Promise<number>;
} {
  const out: Captured = { stdout: '', stderr: '' };
  let saved: NodeJS.ProcessEnv;
  let dir: string;
  beforeEach(() => {
    saved = { ...process.env };
    process.env.NO_COLOR = '1';
    dir = mkdtempSync(join(tmpdir(), 'jit-cli-'));
    process.env.XDG_CONFIG_HOME = join(dir, 'xdg');
    out.stdout = '';
    out.stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((t) => {
      out.stdout += String(t);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((t) => {
      out.stderr += String(t);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
    process.env = saved;
    process.exitCode = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  const jit = (...args: string[]) =>
    run(['node', 'jit', '--local', '--as', caller, '--api', 'http://127.0.0.1:8787', ...args]);
  return { out, jit };
}
