import { createHash } from 'node:crypto';
import type { Status } from '../lifecycle.ts';
import type { AuditEvent } from '../model.ts';

/** prevHash of the first event of every request. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level, so the same event always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** SHA-256 over the previous hash and the event's canonical JSON (without its own hash). */
export function hashEvent(event: Omit<AuditEvent, 'hash'>): string {
  const { prevHash, ...body } = event;
  return createHash('sha256')
    .update(prevHash)
    .update(canonicalJson({ ...body, prevHash }))
    .digest('hex');
}

/** Builds the next event of a request, chained to `prevHash`. */
export function chainEvent(input: {
  requestId: string;
  seq: number;
  from: Status | null;
  to: Status;
  at: string;
  actor: string;
  details?: Record<string, unknown>;
  prevHash: string;
}): AuditEvent {
  const { details, ...rest } = input;
  const unsigned = details === undefined ? rest : { ...rest, details };
  return { ...unsigned, hash: hashEvent(unsigned) };
}

/** Result of checking a request's event log. */
export type ChainCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly seq: number; readonly reason: string };

/**
 * Verifies sequence numbers, links and hashes of a request's events, in order. With `anchor` (the request
 * item's `version` and `lastHash`) it also detects events removed from the end of the log.
 */
export function verifyChain(
  events: readonly AuditEvent[],
  anchor?: { readonly version: number; readonly lastHash: string },
): ChainCheck {
  let prev = GENESIS_HASH;
  let previousTo: Status | null = null;
  for (const [i, event] of events.entries()) {
    if (event.seq !== i + 1) return { ok: false, seq: event.seq, reason: `expected seq ${i + 1}` };
    if (event.prevHash !== prev) return { ok: false, seq: event.seq, reason: 'prevHash does not link' };
    if (event.from !== previousTo)
      return { ok: false, seq: event.seq, reason: 'from does not match previous to' };
    const { hash, ...unsigned } = event;
    if (hashEvent(unsigned) !== hash)
      return { ok: false, seq: event.seq, reason: 'hash does not match content' };
    prev = hash;
    previousTo = event.to;
  }
  if (anchor && (anchor.version !== events.length || anchor.lastHash !== prev)) {
    return {
      ok: false,
      seq: events.length,
      reason: `the request item expects ${anchor.version} events ending in its lastHash`,
    };
  }
  return { ok: true };
}
