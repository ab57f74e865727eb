import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainEvent, GENESIS_HASH } from '#core/audit/chain.ts';
import { archiveChanges, archiveEvent, evidenceKey, verifyAgainstArchive } from '#core/audit/evidence.ts';
import { AlreadyArchivedError, EvidenceMismatchError } from '#core/errors.ts';
import type { AuditEvent } from '#core/model.ts';
import { DirectoryEvidenceArchive } from '../../../../local/fakes/evidence-archive.ts';
import { fakeDeps, grantedRequest, type MemoryAuditStore } from '../../../support/fakes.ts';

/** Re-chains `events` from seq 1, as someone with write access to the table would after editing it. */
function rehash(events: readonly AuditEvent[]): AuditEvent[] {
  let prevHash = GENESIS_HASH;
  let from: AuditEvent['from'] = null;
  return events.map((e, i) => {
    const { hash: _h, prevHash: _p, ...rest } = e;
    const next = chainEvent({ ...rest, seq: i + 1, from, prevHash });
    prevHash = next.hash;
    from = next.to;
    return next;
  });
}

/** Rewrites a request's table history (events and anchor), consistently, as an attacker would. */
function rewrite(store: MemoryAuditStore, id: string, events: AuditEvent[]): void {
  const request = store.requests.get(id);
  if (!request) throw new Error('no request');
  const last = events.at(-1);
  store.eventLog.set(id, events);
  store.requests.set(id, { ...request, version: events.length, lastHash: last?.hash ?? GENESIS_HASH });
}

describe('evidence archive', () => {
  let dir: string;
  let archive: DirectoryEvidenceArchive;
  let deps: { store: MemoryAuditStore; archive: DirectoryEvidenceArchive };
  let store: MemoryAuditStore;
  let id: string;

  beforeEach(async () => {
    // Prepare: a granted request whose every event is archived
    dir = await mkdtemp(join(tmpdir(), 'jit-evidence-test-'));
    archive = new DirectoryEvidenceArchive(dir);
    const base = fakeDeps();
    store = base.store;
    deps = { store, archive };
    id = await grantedRequest(base.deps);
    for (const event of await store.events(id)) await archiveEvent(archive, event);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('verifies an untouched history', async () => {
    // Act
    const check = await verifyAgainstArchive(deps, id);
    // Assess
    expect(check).toEqual({ ok: true, requestId: id, events: (await store.events(id)).length });
  });

  it('detects an edited event even with the whole chain re-hashed and the anchor fixed', async () => {
    // Prepare
    const events = await store.events(id);
    events[1] = { ...(events[1] as AuditEvent), actor: 'someone-else' };
    rewrite(store, id, rehash(events));
    // Act
    const check = await verifyAgainstArchive(deps, id);
    // Assess
    expect(check).toMatchObject({ ok: false, seq: 2, reason: expect.stringMatching(/differs/) });
  });

  it('detects the last event deleted with the anchor fixed', async () => {
    // Prepare
    const events = await store.events(id);
    rewrite(store, id, events.slice(0, -1));
    // Act
    const check = await verifyAgainstArchive(deps, id);
    // Assess
    expect(check).toMatchObject({ ok: false, seq: events.length, reason: expect.stringMatching(/missing/) });
  });

  it('detects reordered events re-chained', async () => {
    // Prepare
    const events = await store.events(id);
    const [a, b, ...rest] = events as [AuditEvent, AuditEvent, ...AuditEvent[]];
    rewrite(store, id, rehash([b, a, ...rest]));
    // Act
    const check = await verifyAgainstArchive(deps, id);
    // Assess
    expect(check).toMatchObject({ ok: false, seq: 1 });
  });

  it('detects a whole request deleted from the table', async () => {
    // Prepare
    store.requests.delete(id);
    store.eventLog.delete(id);
    // Act
    const check = await verifyAgainstArchive(deps, id);
    // Assess
    expect(check).toMatchObject({ ok: false, seq: 1, reason: expect.stringMatching(/not in the table/) });
  });

  it('reports an event not archived yet', async () => {
    // Prepare
    const events = await store.events(id);
    const fresh = await mkdtemp(join(tmpdir(), 'jit-evidence-test-'));
    const partial = new DirectoryEvidenceArchive(fresh);
    for (const event of events.slice(0, -1)) await archiveEvent(partial, event);
    // Act
    const check = await verifyAgainstArchive({ ...deps, archive: partial }, id);
    // Assess
    expect(check).toMatchObject({
      ok: false,
      seq: events.length,
      reason: expect.stringMatching(/not in the archive/),
    });
    await rm(fresh, { recursive: true, force: true });
  });

  it('refuses to overwrite an archived object', async () => {
    // Prepare
    const key = evidenceKey(id, 1);
    const before = await archive.get(key);
    // Act
    const put = archive.put(key, '{}');
    // Assess
    await expect(put).rejects.toBeInstanceOf(AlreadyArchivedError);
    expect(await archive.get(key)).toBe(before);
  });

  it('is idempotent under redelivery and refuses a rewritten event', async () => {
    // Prepare
    const [first] = await store.events(id);
    const event = first as AuditEvent;
    // Act
    const again = await archiveEvent(archive, event);
    const rewritten = archiveEvent(archive, { ...event, actor: 'someone-else' });
    // Assess
    expect(again).toBe('already-archived');
    await expect(rewritten).rejects.toBeInstanceOf(EvidenceMismatchError);
    expect(JSON.parse((await archive.get(evidenceKey(id, 1))) ?? '{}')).toEqual(event);
  });

  it('stops a batch at its first failure and reports it, skipping nothing', async () => {
    // Prepare
    const [first] = await store.events(id);
    const event = first as AuditEvent;
    const poison = { sk: 'EVT#000001', pk: `REQ#${id}`, ...event, actor: 'someone-else' };
    const fresh = { ...event, requestId: 'other', seq: 1 };
    const records = [
      { id: 'meta', item: { pk: `REQ#${id}`, sk: 'META' } },
      { id: 'poison', item: poison },
      { id: 'after', item: { pk: 'REQ#other', sk: 'EVT#000001', ...fresh } },
    ];
    // Act
    const result = await archiveChanges(archive, records);
    // Assess
    expect(result).toEqual({ archived: 0, failedId: 'poison' });
    expect(await archive.get(evidenceKey('other', 1))).toBeUndefined();
  });
});
