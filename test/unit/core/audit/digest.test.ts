import { beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '#core/audit/chain.ts';
import { buildDigests, type Digest, digestKey, verifyDigests } from '#core/audit/digest.ts';
import { archiveEvent } from '#core/audit/evidence.ts';
import { ForbiddenError } from '#core/errors.ts';
import { verifyEvidenceDigests } from '#core/requests/verify-digests.ts';
import { ALICE, BOB, fakeDeps, grantedRequest, type MemoryAuditStore } from '../../../support/fakes.ts';
import { MemoryArchive } from '../../../support/memory-archive.ts';

const DAY1 = '2026-11-22';
const DAY2 = '2026-11-23';
const DAY3 = '2026-11-24';

describe('daily digest', () => {
  let archive: MemoryArchive;
  let store: MemoryAuditStore;
  let first: string;
  let second: string;
  let third: string;
  let base: ReturnType<typeof fakeDeps>;

  beforeEach(async () => {
    // Prepare: one granted request on each of three days, every event archived, digests built through day 3
    archive = new MemoryArchive();
    base = fakeDeps();
    store = base.store;
    first = await grantedRequest(base.deps);
    base.clock.advance(86_400);
    second = await grantedRequest(base.deps);
    base.clock.advance(86_400);
    third = await grantedRequest(base.deps);
    for (const id of [first, second, third]) {
      for (const event of await store.events(id)) await archiveEvent(archive, event);
    }
    await buildDigests(archive, DAY3);
  });

  const digest = (day: string) => JSON.parse(archive.objects.get(digestKey(day)) as string) as Digest;
  const verify = () => verifyDigests({ store, archive }, { since: DAY1, expectThrough: DAY3 });

  it('chains one digest a day, each naming the last seq and hash of the requests that changed', async () => {
    // Assess
    const events = await store.events(second);
    expect(digest(DAY1).previous).toBe(GENESIS_HASH);
    expect(digest(DAY2)).toMatchObject({
      day: DAY2,
      previous: digest(DAY1).hash,
      requests: [{ requestId: second, seq: events.length, hash: events.at(-1)?.hash }],
    });
    expect(digest(DAY3).previous).toBe(digest(DAY2).hash);
    expect(await verify()).toMatchObject({ ok: true, digests: 3, requests: 3, problems: [] });
  });

  it('is idempotent: running twice writes once', async () => {
    // Act
    const puts = archive.puts;
    const again = await buildDigests(archive, DAY3);
    // Assess
    expect(archive.puts).toBe(puts);
    expect(again).toEqual([{ day: DAY3, outcome: 'already-built', agrees: true, requests: 1 }]);
  });

  it('detects a deleted digest day', async () => {
    // Act
    archive.objects.delete(digestKey(DAY2));
    // Assess
    const check = await verify();
    expect(check.ok).toBe(false);
    expect(check.problems).toContainEqual({ day: DAY2, reason: 'no digest for this day (deleted?)' });
  });

  it('detects a deleted last digest day', async () => {
    // Act
    archive.objects.delete(digestKey(DAY3));
    // Assess
    const check = await verify();
    expect(check.problems.map((p) => p.day)).toEqual([DAY3]);
  });

  it('detects an edited digest, even with its own hash recomputed', async () => {
    // Act: drop the request from day 2's digest
    const edited = { ...digest(DAY2), requests: [] };
    archive.objects.set(digestKey(DAY2), JSON.stringify(edited));
    // Assess: its hash no longer matches
    expect((await verify()).problems).toContainEqual({
      day: DAY2,
      reason: "the digest's hash does not match its content (edited)",
    });
  });

  it('reports a request deleted from the table (its archived events left) with the day and id', async () => {
    // Act
    store.requests.delete(second);
    store.eventLog.delete(second);
    // Assess
    const check = await verify();
    expect(check.ok).toBe(false);
    expect(check.problems).toEqual([
      { day: DAY2, requestId: second, reason: expect.stringMatching(/not in the table \(deleted\)/) },
    ]);
  });

  it('reports a truncated request (last event deleted, anchor fixed)', async () => {
    // Act
    const events = (await store.events(first)).slice(0, -1);
    const last = events.at(-1);
    store.eventLog.set(first, events);
    const request = store.requests.get(first);
    if (!request || !last) throw new Error('no request');
    store.requests.set(first, { ...request, version: events.length, lastHash: last.hash });
    // Assess
    const check = await verify();
    expect(check.problems).toEqual([
      { day: DAY1, requestId: first, reason: expect.stringMatching(/truncated/) },
    ]);
  });

  it('lets approvers check the chain through the use case, and no one else', async () => {
    // Prepare: three days later, the digests of all three days are due
    base.clock.advance(2 * 86_400);
    const deps = { ...base.deps, evidence: archive };
    // Act
    archive.objects.delete(digestKey(DAY3));
    const check = await verifyEvidenceDigests(deps, BOB, 30);
    // Assess
    expect(check).toMatchObject({ ok: false, verifiedAgainst: 'archive', problems: [{ day: DAY3 }] });
    await expect(verifyEvidenceDigests(deps, ALICE, 30)).rejects.toBeInstanceOf(ForbiddenError);
  });
});
