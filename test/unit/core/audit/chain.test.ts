import { describe, expect, it } from 'vitest';
import { canonicalJson, chainEvent, GENESIS_HASH, hashEvent, verifyChain } from '#core/audit/chain.ts';
import type { Status } from '#core/lifecycle.ts';
import type { AuditEvent } from '#core/model.ts';
import { decide, getRequest } from '#core/requests/requests.ts';
import { ALICE, BOB, fakeDeps, grantedRequest, pendingRequest } from '../../../support/fakes.ts';

/** A chain REQUESTED → PENDING_APPROVAL → APPROVED → GRANTED → REVOKED, built as the core builds it. */
function chain(): AuditEvent[] {
  const moves: [Status | null, Status, Record<string, unknown>][] = [
    [null, 'REQUESTED', { ruleId: 'app-read' }],
    ['REQUESTED', 'PENDING_APPROVAL', { approvalWindowSeconds: 3600 }],
    ['PENDING_APPROVAL', 'APPROVED', { vote: 'approve', approvals: 1 }],
    ['APPROVED', 'GRANTED', { policyName: 'jit-req-1', expiresAt: '2026-11-22T10:15:00Z' }],
    ['GRANTED', 'REVOKED', { reason: 'expired' }],
  ];
  const events: AuditEvent[] = [];
  let prevHash = GENESIS_HASH;
  moves.forEach(([from, to, details], i) => {
    const event = chainEvent({
      requestId: 'req-1',
      seq: i + 1,
      from,
      to,
      at: `2026-11-22T10:0${i}:00.000Z`,
      actor: 'system:test',
      details,
      prevHash,
    });
    events.push(event);
    prevHash = event.hash;
  });
  return events;
}

/** Replaces the event at `index` with `patch` applied. */
function tampered(events: AuditEvent[], index: number, patch: Partial<AuditEvent>): AuditEvent[] {
  return events.map((e, i) => (i === index ? { ...e, ...patch } : e));
}

describe('audit chain', () => {
  it('verifies an untouched chain', () => {
    // Prepare
    const events = chain();
    // Act
    const check = verifyChain(events);
    // Assess
    expect(check).toEqual({ ok: true });
    expect(events[0]?.prevHash).toBe(GENESIS_HASH);
    expect(events[1]?.prevHash).toBe(events[0]?.hash);
  });

  it('verifies the chain a real request run leaves in the store', async () => {
    // Prepare
    const { deps, store } = fakeDeps();
    const id = await grantedRequest(deps);
    // Act
    const check = verifyChain(await store.events(id));
    // Assess
    expect(check).toEqual({ ok: true });
    expect((await store.events(id)).length).toBe(4);
    expect((await store.get(id))?.lastHash).toBe((await store.events(id)).at(-1)?.hash);
  });

  it('detects an edited detail and names its seq', () => {
    // Prepare
    const events = chain();
    const edited = tampered(events, 3, {
      details: { policyName: 'jit-req-1', expiresAt: '2099-01-01T00:00:00Z' },
    });
    // Act
    const check = verifyChain(edited);
    // Assess
    expect(check).toEqual({ ok: false, seq: 4, reason: 'hash does not match content' });
  });

  it('detects an edited actor', () => {
    // Prepare
    const edited = tampered(chain(), 2, { actor: 'arn:aws:sts::111122223333:assumed-role/Approver/bob' });
    // Act
    const check = verifyChain(edited);
    // Assess
    expect(check).toMatchObject({ ok: false, seq: 3 });
  });

  it('detects reordered events', () => {
    // Prepare
    const events = chain();
    const reordered = [events[0], events[2], events[1], events[3], events[4]] as AuditEvent[];
    // Act
    const check = verifyChain(reordered);
    // Assess
    expect(check).toMatchObject({ ok: false, seq: 3 });
  });

  it('detects a deleted event at the seq that follows it', () => {
    // Prepare
    const events = chain();
    const deleted = events.filter((_, i) => i !== 2);
    // Act
    const check = verifyChain(deleted);
    // Assess
    expect(check).toMatchObject({ ok: false, seq: 4 });
  });

  it('detects a deleted event even when the seqs are renumbered', () => {
    // Prepare
    const events = chain().filter((_, i) => i !== 2);
    const renumbered = events.map((e, i) => ({ ...e, seq: i + 1 }));
    // Act
    const check = verifyChain(renumbered);
    // Assess
    expect(check).toMatchObject({ ok: false, seq: 3 });
  });

  it('detects a changed prevHash', () => {
    // Prepare
    const edited = tampered(chain(), 1, { prevHash: 'f'.repeat(64) });
    // Act
    const check = verifyChain(edited);
    // Assess
    expect(check).toEqual({ ok: false, seq: 2, reason: 'prevHash does not link' });
  });

  it('detects an event re-hashed after an edit, at the next link', () => {
    // Prepare: the attacker edits event 2 and recomputes its hash, but not the events after it.
    const events = chain();
    const { hash: _hash, ...unsigned } = { ...(events[1] as AuditEvent), actor: 'someone-else' };
    const resigned = tampered(events, 1, { actor: 'someone-else', hash: hashEvent(unsigned) });
    // Act
    const check = verifyChain(resigned);
    // Assess
    expect(check).toEqual({ ok: false, seq: 3, reason: 'prevHash does not link' });
  });

  it('detects a from that does not follow the previous to', () => {
    // Prepare: rebuild event 3 properly signed but claiming to come from REQUESTED.
    const events = chain();
    const prev = events[1] as AuditEvent;
    const forged = chainEvent({
      requestId: 'req-1',
      seq: 3,
      from: 'REQUESTED',
      to: 'APPROVED',
      at: '2026-11-22T10:02:00.000Z',
      actor: 'system:test',
      prevHash: prev.hash,
    });
    // Act
    const check = verifyChain([events[0], prev, forged] as AuditEvent[]);
    // Assess
    expect(check).toEqual({ ok: false, seq: 3, reason: 'from does not match previous to' });
  });
});

describe('canonicalJson', () => {
  it('is independent of key order and drops undefined fields', () => {
    // Act
    const a = canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } });
    const b = canonicalJson({ a: { d: [1, { x: 1, y: 2 }] }, b: 1 });
    // Assess
    expect(a).toBe(b);
    expect(a).toBe('{"a":{"d":[1,{"x":1,"y":2}]},"b":1}');
  });
});

describe('audit chain anchor', () => {
  it('detects events cut from the end of the log, and reports integrity on read', async () => {
    // Prepare
    const { deps, store } = fakeDeps();
    const id = await pendingRequest(deps);
    await decide(deps, BOB, id, 'approve');
    const request = await store.get(id);
    const events = await store.events(id);
    // Act
    const whole = verifyChain(events, request);
    const truncated = verifyChain(events.slice(0, -1), request);
    const unanchored = verifyChain(events.slice(0, -1));
    const read = await getRequest(deps, ALICE, id);
    // Assess
    expect(whole).toEqual({ ok: true });
    expect(truncated).toMatchObject({ ok: false });
    expect(unanchored).toEqual({ ok: true });
    expect(read.integrity).toEqual({ ok: true });
  });
});
