import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicyConfig } from '#core/policy/config.ts';
import { LOCAL_VAULT_KEY_FILE, LocalVault, LocalVaultOpenError } from '../../local/fakes/kms-vault.ts';
import { type LocalBroker, startLocalBroker } from '../../local/runtime.ts';
import { arn, call, DEV, e2eConfig, readRequest, startBroker, submit, waitForStatus } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'jit-local-runtime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A raw HTTP exchange with Node's client: status, headers and the whole body, or the socket's error. */
function rawRequest(
  url: string,
  opts: { method: string; path: string; headers?: Record<string, string>; body?: Buffer; agent?: Agent },
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}${opts.path}`,
      { method: opts.method, headers: opts.headers ?? {}, ...(opts.agent ? { agent: opts.agent } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('local runtime: HTTP edge cases', () => {
  let broker: LocalBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('answers 400 InvalidRequest, field "path", for a malformed % escape in the path', async () => {
    // Act
    const truncated = await call(broker, DEV('alice'), 'GET', '/requests/%E0%A4%A');
    const notHex = await call(broker, DEV('alice'), 'POST', '/requests/%ZZ/approve', {});
    const health = await call(broker, undefined, 'GET', '/_local/health');
    // Assess
    for (const reply of [truncated, notHex]) {
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({
        error: { code: 'InvalidRequest', message: expect.any(String), details: [{ field: 'path' }] },
      });
    }
    expect(health.status).toBe(200);
  });

  it('answers 413 with Connection: close to an 11 MB body, every time, and keeps serving', async () => {
    // Prepare
    const big = Buffer.alloc(11 * 1024 * 1024, 'a');
    // Act
    const replies: { status: number; connection: string | null; body: unknown }[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${broker.url}/requests`, {
        method: 'POST',
        headers: { 'x-jit-principal': DEV('alice'), 'content-type': 'application/json' },
        body: big,
      });
      replies.push({ status: res.status, connection: res.headers.get('connection'), body: await res.json() });
    }
    const after = await call(broker, DEV('alice'), 'GET', '/requests');
    // Assess
    expect(replies).toHaveLength(5);
    for (const reply of replies) {
      expect(reply).toEqual({
        status: 413,
        connection: 'close',
        body: { error: { code: 'PayloadTooLarge', message: expect.any(String) } },
      });
    }
    expect(after.status).toBe(200);
  });

  it('lets a keep-alive client go on after a 413 (Node http, same agent)', async () => {
    // Prepare
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const big = Buffer.alloc(11 * 1024 * 1024, 'b');
    const headers = { 'x-jit-principal': DEV('alice'), 'content-type': 'application/json' };
    try {
      // Act
      const results: { status: number; connection: unknown; code: unknown }[] = [];
      for (let i = 0; i < 3; i++) {
        const tooLarge = await rawRequest(broker.url, {
          method: 'POST',
          path: '/requests',
          headers: { ...headers, 'content-length': String(big.length) },
          body: big,
          agent,
        });
        results.push({
          status: tooLarge.status,
          connection: tooLarge.headers.connection,
          code: (JSON.parse(tooLarge.body) as { error: { code: string } }).error.code,
        });
      }
      const next = await rawRequest(broker.url, { method: 'GET', path: '/requests', headers, agent });
      // Assess
      for (const r of results)
        expect(r).toEqual({ status: 413, connection: 'close', code: 'PayloadTooLarge' });
      expect(next.status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it('still takes a body under the limit after oversized ones', async () => {
    // Act
    const id = await submit(broker, DEV('alice'), readRequest({ durationSeconds: 600 }));
    // Assess
    expect(id).toMatch(/\S/);
  });
});

describe('local vault key', () => {
  it('keeps the key in the data dir (0600), reuses it, and opens what an earlier vault sealed', async () => {
    // Prepare
    const data = join(dir, 'vault-reuse');
    const first = LocalVault.inDataDir(data);
    const keyFile = join(data, LOCAL_VAULT_KEY_FILE);
    const keyBefore = readFileSync(keyFile, 'utf8');
    const sealed = await first.seal('req-1', 'secret');
    // Act
    const second = LocalVault.inDataDir(data);
    const opened = await second.open('req-1', sealed);
    // Assess
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toBe(keyBefore);
    expect(opened).toBe('secret');
  });

  it('throws LocalVaultOpenError (not a crypto error) for a blob it cannot open', async () => {
    // Prepare
    const data = join(dir, 'vault-changed');
    const sealed = await LocalVault.inDataDir(data).seal('req-2', 'secret');
    writeFileSync(join(data, LOCAL_VAULT_KEY_FILE), `${Buffer.alloc(32, 7).toString('base64')}\n`);
    const changed = LocalVault.inDataDir(data);
    // Act
    const outcomes = await Promise.allSettled([
      changed.open('req-2', sealed),
      new LocalVault().open('req-2', sealed),
      changed.open('req-2', 'not a blob'),
    ]);
    // Assess
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as LocalVaultOpenError;
      expect(reason).toBeInstanceOf(LocalVaultOpenError);
      expect(reason).toMatchObject({ code: 'SealedCredentialsUnreadable', requestId: 'req-2' });
    }
  });

  it('hands over credentials sealed before a restart on the same --data-dir', async () => {
    // Prepare: a credentials grant on a broker with its own DynamoDB Local in a data dir.
    const data = join(dir, 'restart');
    const base = e2eConfig();
    const config = parsePolicyConfig({
      ...base,
      rules: [
        ...base.rules,
        {
          id: 'release',
          kind: 'credentials',
          requesters: [DEV('*')],
          targets: [arn.role('jit-release-*')],
          actions: ['s3:PutObject'],
          resources: ['arn:aws:s3:::release-artifacts/*'],
          maxDurationSeconds: 3600,
          approval: 'auto',
        },
      ],
    });
    const start = () =>
      startLocalBroker({ config, port: 0, dataDir: data, retryIntervalMs: 20, log: () => {} });
    const first = await start();
    let id: string;
    try {
      id = await submit(first, DEV('alice'), {
        kind: 'credentials',
        target: arn.role('jit-release-prod'),
        permissions: [{ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::release-artifacts/app/*'] }],
        durationSeconds: 600,
        reason: 'ship release 43',
        ticket: 'REL-43',
      });
      await waitForStatus(first, id, 'GRANTED');
    } finally {
      await first.stop();
    }
    // Act
    const second = await start();
    let collected: Awaited<ReturnType<typeof call>>;
    try {
      collected = await call(second, DEV('alice'), 'GET', `/requests/${id}/credentials`);
    } finally {
      await second.stop();
    }
    // Assess
    expect(collected.status).toBe(200);
    expect(collected.body).toMatchObject({ Version: 1, AccessKeyId: expect.any(String) });
  }, 120_000);
});
