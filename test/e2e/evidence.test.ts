import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chainEvent, GENESIS_HASH } from '#core/audit/chain.ts';
import { dayOf } from '#core/audit/digest.ts';
import type { AuditEvent } from '#core/model.ts';
import { LOCAL_AWS } from '../../local/engines/dynamodb-local.ts';
import type { LocalBroker } from '../../local/runtime.ts';
import { APPROVER, arn, call, DEV, readRequest, startBroker, submit, waitForStatus } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** `jit --local --as <principal> …` as a child process, to the end. */
function jit(broker: LocalBroker, principal: string, ...args: string[]) {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'cli', 'jit.mjs'), '--local', '--as', principal, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, JIT_API_URL: broker.url, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((res) =>
    child.once('close', (code) => res({ code, stdout, stderr })),
  );
}

describe('local runtime: write-once evidence', () => {
  let broker: LocalBroker;
  let db: DynamoDBDocumentClient;

  beforeAll(async () => {
    broker = await startBroker();
    db = DynamoDBDocumentClient.from(new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('ddbEndpoint') }));
  });
  afterAll(async () => {
    db?.destroy();
    await broker?.stop();
  });

  /** A request through its whole lifecycle (approved, granted, revoked at expiry), every event archived. */
  async function finishedRequest(): Promise<string> {
    const id = await submit(broker, DEV('alice'), readRequest());
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    await call(broker, APPROVER('bob'), 'POST', `/requests/${id}/approve`, {});
    await waitForStatus(broker, id, 'REVOKED');
    await broker.evidence.settled();
    return id;
  }

  it('archives every event and verifies an untouched history through the API', async () => {
    // Act
    const id = await finishedRequest();
    const byRequester = await call(broker, DEV('alice'), 'GET', `/requests/${id}/verify`);
    const byOutsider = await call(
      broker,
      arn.assumed('Outsider', 'mallory'),
      'GET',
      `/requests/${id}/verify`,
    );
    const keys = await broker.evidence.archive.list(`events/${id}/`);
    const cli = await jit(broker, DEV('alice'), 'audit', 'verify', id);
    const since = await jit(broker, DEV('alice'), 'audit', 'verify', '--since', '1d', '--json');
    // Assess
    const events = await broker.deps.store.events(id);
    expect(keys).toHaveLength(events.length);
    expect(byRequester).toEqual({
      status: 200,
      body: { ok: true, requestId: id, events: events.length, verifiedAgainst: 'archive' },
    });
    expect(byOutsider.status).toBe(403);
    expect(cli).toMatchObject({
      code: 0,
      stdout: `${id}  verified against the archive (${events.length} events)\n`,
    });
    expect(since.code).toBe(0);
    expect(JSON.parse(since.stdout).checks.map((c: { requestId: string }) => c.requestId)).toContain(id);
  }, 30_000);

  it('reports the first edited event of a history rewritten with its chain re-hashed', async () => {
    // Prepare: edit event 2 in the table, re-chain every event after it and fix the anchor
    const id = await finishedRequest();
    const events = await broker.deps.store.events(id);
    let prevHash = GENESIS_HASH;
    const forged: AuditEvent[] = events.map((e, i) => {
      const { hash: _h, prevHash: _p, ...rest } = e;
      const next = chainEvent({ ...rest, ...(i === 1 ? { actor: 'someone-else' } : {}), prevHash });
      prevHash = next.hash;
      return next;
    });
    for (const e of forged) {
      await db.send(
        new PutCommand({
          TableName: broker.tableName,
          Item: { pk: `REQ#${id}`, sk: `EVT#${String(e.seq).padStart(6, '0')}`, ...e },
        }),
      );
    }
    await db.send(
      new UpdateCommand({
        TableName: broker.tableName,
        Key: { pk: `REQ#${id}`, sk: 'META' },
        UpdateExpression: 'SET lastHash = :h',
        ExpressionAttributeValues: { ':h': prevHash },
      }),
    );
    // Act
    const chain = await call<{ integrity: unknown }>(broker, DEV('alice'), 'GET', `/requests/${id}`);
    const verify = await call(broker, DEV('alice'), 'GET', `/requests/${id}/verify`);
    const cli = await jit(broker, DEV('alice'), 'audit', 'verify', id);
    // Assess: the chain alone is fooled, the archive is not
    expect(chain.body.integrity).toEqual({ ok: true });
    expect(verify).toMatchObject({ status: 200, body: { ok: false, seq: 2 } });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`${id}  DOES NOT VERIFY at event 2:`);
  }, 30_000);

  it('reports a request deleted from the table through the daily digest (API and jit audit verify --since)', async () => {
    // Prepare: a finished request, today's digest built (as the sweeper's timer does once the day is over),
    // then the request deleted from the table, its archived events left
    const id = await finishedRequest();
    const events = await broker.deps.store.events(id);
    const outcomes = await broker.evidence.digest(new Date(Date.now() + 86_400_000));
    for (const sk of ['META', ...events.map((e) => `EVT#${String(e.seq).padStart(6, '0')}`)]) {
      await db.send(new DeleteCommand({ TableName: broker.tableName, Key: { pk: `REQ#${id}`, sk } }));
    }
    // Act
    const byApprover = await call<{ ok: boolean; problems: { day: string; requestId?: string }[] }>(
      broker,
      APPROVER('bob'),
      'GET',
      '/evidence/digests?since=1',
    );
    const byRequester = await call(broker, DEV('alice'), 'GET', '/evidence/digests?since=1');
    const cli = await jit(broker, APPROVER('bob'), 'audit', 'verify', '--since', '1d');
    // Assess
    const today = dayOf(new Date());
    expect(outcomes.at(-1)).toMatchObject({ day: today, outcome: 'written' });
    expect(byApprover.status).toBe(200);
    expect(byApprover.body.ok).toBe(false);
    expect(byApprover.body.problems).toContainEqual(expect.objectContaining({ day: today, requestId: id }));
    expect(byRequester.status).toBe(403);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(
      `daily digest ${today}  ${id}  DOES NOT VERIFY: the request is not in the table`,
    );
  }, 30_000);
});
