import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  QueryCommand,
  ScanCommand,
  type ScanCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { DynamoAuditStore } from '#adapters/dynamo-audit-store.ts';
import { ACTIVE_GRANT, keys, TABLE_SCHEMA } from '#adapters/table-schema.ts';
import { chainEvent, verifyChain } from '#core/audit/chain.ts';
import { move } from '#core/audit/transition.ts';
import { TransitionRefusedError } from '#core/errors.ts';
import type { Status } from '#core/lifecycle.ts';
import type { AccessRequest } from '#core/model.ts';
import type { Deps } from '#core/ports.ts';
import { submitRequest } from '#core/requests/requests.ts';
import { createAuditTable } from '../../../local/engines/create-table.ts';
import { LOCAL_AWS } from '../../../local/engines/dynamodb-local.ts';
import { arn, fakeDeps, type ManualClock, validBody } from '../../support/fakes.ts';

type Item = Record<string, unknown>;

const TABLE = `jit-audit-store-${randomUUID()}`;
const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('ddbEndpoint') });
const db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
const store = new DynamoAuditStore(db, TABLE);

/** Core deps around the DynamoDB store, with unique ids so tests share the table without colliding. */
function storeDeps(): { deps: Deps; clock: ManualClock } {
  const fake = fakeDeps();
  const deps: Deps = { ...fake.deps, store, ids: { requestId: () => `req-${randomUUID()}` } };
  return { deps, clock: fake.clock };
}

/** A stored REQUESTED request, created the way the API creates it. */
async function submitted(deps: Deps, requester = arn.assumed('Developer', 'alice')): Promise<AccessRequest> {
  const { requestId } = await submitRequest(deps, requester, validBody());
  const request = await store.get(requestId);
  if (!request) throw new Error(`request ${requestId} was not stored`);
  return request;
}

/** Every item of the table, in key order, so two snapshots compare exactly. */
async function scanAll(): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out: ScanCommandOutput = await db.send(
      new ScanCommand({ TableName: TABLE, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  const key = (i: Item) => `${String(i.pk)}|${String(i.sk)}`;
  return items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Ids of the requests the sparse activeGrants index holds. */
async function activeGrantIds(): Promise<string[]> {
  const index = TABLE_SCHEMA.indexes.activeGrants;
  const out = await db.send(
    new QueryCommand({
      TableName: TABLE,
      IndexName: index.name,
      KeyConditionExpression: '#g = :g',
      ExpressionAttributeNames: { '#g': index.partitionKey },
      ExpressionAttributeValues: { ':g': ACTIVE_GRANT },
    }),
  );
  return (out.Items ?? []).map((i) => String(i.id));
}

/** Moves through `path` one status at a time, patching what each status needs. */
async function walk(deps: Deps, request: AccessRequest, path: readonly Status[]): Promise<AccessRequest> {
  let current = request;
  for (const to of path) {
    const patch =
      to === 'PENDING_APPROVAL'
        ? { taskToken: 'token-1' }
        : to === 'APPROVED'
          ? { taskToken: null }
          : to === 'GRANTED'
            ? { expiresAt: '2026-11-22T10:15:00Z' }
            : undefined;
    current = await move(deps, current, to, 'test:actor', { step: to }, patch);
  }
  return current;
}

beforeAll(async () => {
  await createAuditTable(client, TABLE);
});

afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: TABLE }));
  client.destroy();
});

describe('DynamoAuditStore on DynamoDB Local', () => {
  it('stores a legal lifecycle with one chained event per transition, in order', async () => {
    // Prepare
    const { deps } = storeDeps();
    const request = await submitted(deps);
    // Act
    const last = await walk(deps, request, ['PENDING_APPROVAL', 'APPROVED', 'GRANTED', 'REVOKED']);
    // Assess
    const raw = await db.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.requestPk(request.id) },
        ConsistentRead: true,
      }),
    );
    expect((raw.Items ?? []).map((i) => i.sk)).toEqual([
      'EVT#000001',
      'EVT#000002',
      'EVT#000003',
      'EVT#000004',
      'EVT#000005',
      'META',
    ]);
    const events = await store.events(request.id);
    expect(events.map((e) => [e.seq, e.from, e.to])).toEqual([
      [1, null, 'REQUESTED'],
      [2, 'REQUESTED', 'PENDING_APPROVAL'],
      [3, 'PENDING_APPROVAL', 'APPROVED'],
      [4, 'APPROVED', 'GRANTED'],
      [5, 'GRANTED', 'REVOKED'],
    ]);
    expect(verifyChain(events)).toEqual({ ok: true });
    const stored = await store.get(request.id);
    expect(stored).toEqual(last);
    expect(stored).toMatchObject({ status: 'REVOKED', version: 5, lastHash: events[4]?.hash });
    expect(stored?.taskToken).toBeUndefined();
    expect(stored).not.toHaveProperty('pk');
    expect(stored).not.toHaveProperty('grantState');
  });

  it('keeps the task token between PENDING_APPROVAL and the decision', async () => {
    // Prepare
    const { deps } = storeDeps();
    const request = await submitted(deps);
    // Act
    const pending = await walk(deps, request, ['PENDING_APPROVAL']);
    const afterPending = await store.get(request.id);
    await walk(deps, pending, ['APPROVED']);
    const afterDecision = await store.get(request.id);
    // Assess
    expect(afterPending?.taskToken).toBe('token-1');
    expect(afterDecision?.taskToken).toBeUndefined();
  });

  it('refuses an illegal transition and writes nothing', async () => {
    // Prepare
    const { deps } = storeDeps();
    const request = await submitted(deps);
    const before = await scanAll();
    // Act
    const result = move(deps, request, 'GRANTED', 'test:actor');
    // Assess
    await expect(result).rejects.toBeInstanceOf(TransitionRefusedError);
    expect(await scanAll()).toEqual(before);
  });

  it('refuses a legal move from a status the request is not in and writes nothing', async () => {
    // Prepare
    const { deps } = storeDeps();
    const request = await submitted(deps);
    const claimedApproved: AccessRequest = { ...request, status: 'APPROVED' };
    const before = await scanAll();
    // Act
    const result = move(deps, claimedApproved, 'GRANTED', 'test:actor');
    // Assess
    await expect(result).rejects.toBeInstanceOf(TransitionRefusedError);
    expect(await scanAll()).toEqual(before);
    expect((await store.get(request.id))?.status).toBe('REQUESTED');
  });

  it('refuses the same transition write twice and leaves the table as the first write left it', async () => {
    // Prepare
    const { deps } = storeDeps();
    const request = await submitted(deps);
    const at = deps.clock.now().toISOString();
    const event = chainEvent({
      requestId: request.id,
      seq: 2,
      from: 'REQUESTED',
      to: 'PENDING_APPROVAL',
      at,
      actor: 'system:approval-window',
      prevHash: request.lastHash,
    });
    const write = { from: 'REQUESTED', to: 'PENDING_APPROVAL', expectVersion: 1, event, at } as const;
    await store.transition(request.id, write);
    const before = await scanAll();
    // Act
    const again = store.transition(request.id, write);
    // Assess
    await expect(again).rejects.toBeInstanceOf(TransitionRefusedError);
    expect(await scanAll()).toEqual(before);
    expect((await store.events(request.id)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('refuses a move from a stale version and writes nothing', async () => {
    // Prepare
    const { deps } = storeDeps();
    const request = await submitted(deps);
    const pending = await walk(deps, request, ['PENDING_APPROVAL']);
    await move(deps, pending, 'PENDING_APPROVAL', 'approver:bob', { vote: 1 });
    const before = await scanAll();
    // Act
    const stale = move(deps, pending, 'PENDING_APPROVAL', 'approver:carol', { vote: 1 });
    // Assess
    await expect(stale).rejects.toBeInstanceOf(TransitionRefusedError);
    expect(await scanAll()).toEqual(before);
    expect((await store.get(request.id))?.version).toBe(3);
  });

  it('lets verifyChain name the event that was edited in the table', async () => {
    // Prepare
    const { deps } = storeDeps();
    const request = await submitted(deps);
    await walk(deps, request, ['PENDING_APPROVAL', 'APPROVED', 'GRANTED']);
    expect(verifyChain(await store.events(request.id))).toEqual({ ok: true });
    // Act
    await db.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: keys.event(request.id, 3),
        UpdateExpression: 'SET actor = :a',
        ExpressionAttributeValues: { ':a': 'approver:mallory' },
      }),
    );
    // Assess
    const check = verifyChain(await store.events(request.id));
    expect(check).toEqual({ ok: false, seq: 3, reason: 'hash does not match content' });
  });

  it('holds a request in the activeGrants index only while GRANTED or REVOKE_FAILED', async () => {
    // Prepare
    const { deps } = storeDeps();
    const request = await submitted(deps);
    const seen: Record<string, boolean> = {};
    const inIndex = async (label: string) => {
      seen[label] = (await activeGrantIds()).includes(request.id);
    };
    // Act
    await inIndex('REQUESTED');
    let current = await walk(deps, request, ['APPROVED']);
    await inIndex('APPROVED');
    current = await walk(deps, current, ['GRANTED']);
    await inIndex('GRANTED');
    current = await walk(deps, current, ['REVOKE_FAILED']);
    await inIndex('REVOKE_FAILED');
    await walk(deps, current, ['REVOKED']);
    await inIndex('REVOKED');
    // Assess
    expect(seen).toEqual({
      REQUESTED: false,
      APPROVED: false,
      GRANTED: true,
      REVOKE_FAILED: true,
      REVOKED: false,
    });
  });

  it('holds a request in the openRequests index only while REQUESTED, PENDING_APPROVAL or APPROVED', async () => {
    // Prepare
    const { deps, clock } = storeDeps();
    const request = await submitted(deps);
    const seen: Record<string, boolean> = {};
    clock.advance(60);
    const later = new Date(clock.now().getTime() + 1000).toISOString();
    const inIndex = async (label: string) => {
      seen[label] = (await store.findInFlight(later, 1000)).some((r) => r.id === request.id);
    };
    // Act
    await inIndex('REQUESTED');
    let current = await walk(deps, request, ['PENDING_APPROVAL']);
    await inIndex('PENDING_APPROVAL');
    current = await walk(deps, current, ['APPROVED']);
    await inIndex('APPROVED');
    current = await walk(deps, current, ['GRANTED']);
    await inIndex('GRANTED');
    await walk(deps, current, ['REVOKED']);
    await inIndex('REVOKED');
    const early = await store.findInFlight(request.createdAt, 1000);
    // Assess
    expect(seen).toEqual({
      REQUESTED: true,
      PENDING_APPROVAL: true,
      APPROVED: true,
      GRANTED: false,
      REVOKED: false,
    });
    expect(early.some((r) => r.id === request.id)).toBe(false);
    expect(Object.keys((await store.get(request.id)) ?? {})).not.toContain('openState');
  });

  it("pages a requester's requests newest first, each exactly once", async () => {
    // Prepare
    const { deps, clock } = storeDeps();
    const requester = arn.assumed('Developer', `pager-${randomUUID().slice(0, 8)}`);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push((await submitted(deps, requester)).id);
      clock.advance(1);
    }
    // Act
    const pages: string[][] = [];
    let next: string | undefined;
    do {
      const page = await store.listByRequester(requester, 3, next);
      pages.push(page.items.map((r) => r.id));
      next = page.next;
    } while (next);
    // Assess
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual([...ids].reverse());
  });

  it("pages every requester's requests across months, newest first, each exactly once, with filters", async () => {
    // Prepare: 7 requests of 3 requesters from late January to March 2031 (no other test writes there)
    const { deps, clock } = storeDeps();
    clock.advance((Date.parse('2031-01-29T12:00:00Z') - clock.now().getTime()) / 1000);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const who = arn.assumed('Developer', `auditee-${i % 3}`);
      ids.push((await submitted(deps, who)).id);
      clock.advance(9 * 86_400);
    }
    const window = { since: '2031-01-01T00:00:00Z', until: '2031-04-30T00:00:00Z' };
    // Act
    const pages: string[][] = [];
    let next: string | undefined;
    do {
      const page = await store.listAll(window, 3, next);
      pages.push(page.items.map((r) => r.id));
      next = page.next;
    } while (next);
    const denied = await store.listAll({ ...window, status: 'DENIED' }, 10);
    const later = await store.listAll({ ...window, since: '2031-03-01T00:00:00Z' }, 10);
    const otherWindow = store.listAll(
      { since: '2030-01-01T00:00:00Z', until: '2030-03-01T00:00:00Z' },
      3,
      (await store.listAll(window, 1)).next,
    );
    // Assess
    expect(pages.flat()).toEqual([...ids].reverse());
    expect(pages.slice(0, -1).every((p) => p.length === 3)).toBe(true);
    expect(denied.items).toEqual([]);
    expect(later.items.every((r) => r.createdAt >= '2031-03-01T00:00:00Z')).toBe(true);
    expect(later.items.length).toBeGreaterThan(0);
    await expect(otherWindow).rejects.toMatchObject({ code: 'InvalidRequest', details: [{ field: 'next' }] });
  });

  it("refuses a cursor made for another requester's listing, naming the field", async () => {
    // Prepare
    const { deps } = storeDeps();
    const alice = arn.assumed('Developer', `a-${randomUUID().slice(0, 8)}`);
    const mallory = arn.assumed('Developer', `m-${randomUUID().slice(0, 8)}`);
    await submitted(deps, alice);
    await submitted(deps, alice);
    const first = await store.listByRequester(alice, 1);
    // Act
    const stolen = store.listByRequester(mallory, 1, first.next);
    const garbage = store.listByRequester(alice, 1, 'not-a-cursor');
    // Assess
    expect(first.next).toBeDefined();
    await expect(stolen).rejects.toMatchObject({ code: 'InvalidRequest', details: [{ field: 'next' }] });
    await expect(garbage).rejects.toMatchObject({ code: 'InvalidRequest', details: [{ field: 'next' }] });
  });

  it('lists the requests of one requester, newest first, up to the limit', async () => {
    // Prepare
    const { deps, clock } = storeDeps();
    const requester = arn.assumed('Developer', `dev-${randomUUID().slice(0, 8)}`);
    const other = arn.assumed('Developer', `other-${randomUUID().slice(0, 8)}`);
    const mine: AccessRequest[] = [];
    for (let i = 0; i < 3; i++) {
      mine.push(await submitted(deps, requester));
      clock.advance(60);
    }
    await submitted(deps, other);
    const pending = await walk(deps, mine[0] as AccessRequest, ['PENDING_APPROVAL']);
    // Act
    const all = (await store.listByRequester(requester, 10)).items;
    const two = (await store.listByRequester(requester, 2)).items;
    // Assess
    expect(all.map((r) => r.id)).toEqual([mine[2]?.id, mine[1]?.id, mine[0]?.id]);
    expect(two.map((r) => r.id)).toEqual([mine[2]?.id, mine[1]?.id]);
    expect(all[2]).toEqual(pending);
    expect(all.every((r) => r.requester === requester)).toBe(true);
  });

  it('refuses to create the same request twice and writes nothing', async () => {
    // Prepare
    const { deps } = storeDeps();
    const request = await submitted(deps);
    const [first] = await store.events(request.id);
    if (!first) throw new Error('no first event');
    const before = await scanAll();
    // Act
    const again = store.create({ ...request, reason: 'overwrite attempt' }, first);
    // Assess
    await expect(again).rejects.toBeInstanceOf(TransitionRefusedError);
    expect(await scanAll()).toEqual(before);
    expect((await store.get(request.id))?.reason).toBe(request.reason);
  });

  it('lets exactly one of ten concurrent transitions from the same version win', async () => {
    // Prepare
    const { deps } = storeDeps();
    const request = await submitted(deps);
    const pending = await walk(deps, request, ['PENDING_APPROVAL']);
    // Act
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        move(deps, pending, i % 2 === 0 ? 'APPROVED' : 'DENIED', `approver:${i}`, { racer: i }),
      ),
    );
    // Assess
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    for (const loser of lost)
      expect((loser as PromiseRejectedResult).reason).toBeInstanceOf(TransitionRefusedError);
    const winner = (won[0] as PromiseFulfilledResult<AccessRequest>).value;
    const events = await store.events(request.id);
    expect(events).toHaveLength(3);
    expect(events[2]?.hash).toBe(winner.lastHash);
    expect(verifyChain(events)).toEqual({ ok: true });
    expect(await store.get(request.id)).toMatchObject({ status: winner.status, version: 3 });
  });
});

describe('DynamoAuditStore.findPendingApproval on DynamoDB Local', () => {
  // A table of its own: the other tests leave pending requests behind, and this one counts them all.
  const PENDING_TABLE = `jit-audit-pending-${randomUUID()}`;
  const pendingStore = new DynamoAuditStore(db, PENDING_TABLE);
  /** Ids by status, in the order they were created (one minute apart, so also by last change). */
  const made: { id: string; status: Status }[] = [];
  const idsIn = (status: Status) => made.filter((m) => m.status === status).map((m) => m.id);

  beforeAll(async () => {
    await createAuditTable(client, PENDING_TABLE);
    const fake = fakeDeps();
    const deps: Deps = { ...fake.deps, store: pendingStore, ids: { requestId: () => `req-${randomUUID()}` } };
    // Statuses in and out of the openRequests index, pending ones between the others, so pages of two
    // index items hold fewer matches than asked for.
    const paths: Status[][] = [
      [],
      ['PENDING_APPROVAL'],
      ['PENDING_APPROVAL', 'APPROVED'],
      ['PENDING_APPROVAL'],
      ['PENDING_APPROVAL', 'DENIED'],
      [],
      ['PENDING_APPROVAL'],
      ['PENDING_APPROVAL'],
    ];
    for (const path of paths) {
      const { requestId } = await submitRequest(deps, arn.assumed('Developer', 'alice'), validBody());
      const request = await pendingStore.get(requestId);
      if (!request) throw new Error(`request ${requestId} was not stored`);
      const last = await walk(deps, request, path);
      made.push({ id: last.id, status: last.status });
      fake.clock.advance(60);
    }
  });

  afterAll(async () => {
    await client.send(new DeleteTableCommand({ TableName: PENDING_TABLE }));
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('finds only PENDING_APPROVAL requests, oldest first', async () => {
    // Act
    const found = await pendingStore.findPendingApproval(100);
    // Assess
    expect(found.map((r) => r.id)).toEqual(idsIn('PENDING_APPROVAL'));
    expect(found.every((r) => r.status === 'PENDING_APPROVAL')).toBe(true);
    expect(found.map((r) => r.updatedAt)).toEqual(found.map((r) => r.updatedAt).sort());
    expect(found[0]).not.toHaveProperty('openState');
  });

  it('pages past short filtered pages and stops once it has limit requests', async () => {
    // Prepare
    const send = vi.spyOn(db, 'send');
    // Act
    const found = await pendingStore.findPendingApproval(2);
    // Assess: pages of two index items hold one match each here; a third page would read past the limit.
    expect(found.map((r) => r.id)).toEqual(idsIn('PENDING_APPROVAL').slice(0, 2));
    const queries = send.mock.calls.filter(([command]) => command instanceof QueryCommand);
    expect(queries).toHaveLength(2);
    expect(queries.every(([command]) => (command as QueryCommand).input.IndexName === 'openRequests')).toBe(
      true,
    );
  });
});
