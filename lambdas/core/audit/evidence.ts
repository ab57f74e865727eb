import { AlreadyArchivedError, EvidenceMismatchError } from '../errors.ts';
import type { AuditEvent } from '../model.ts';
import type { AuditStore, EvidenceArchive } from '../ports.ts';
import { canonicalJson, verifyChain } from './chain.ts';
import { archiveHead } from './digest.ts';

/** Where an event is archived: `events/<requestId>/<seq, 10 digits>.json`, so keys sort by seq. */
export function evidenceKey(requestId: string, seq: number): string {
  return `${evidencePrefix(requestId)}${String(seq).padStart(10, '0')}.json`;
}

/** The key prefix of one request's archived events. */
export function evidencePrefix(requestId: string): string {
  return `events/${requestId}/`;
}

/** The archived body of an event: its canonical JSON, exactly the fields stored (and hashed). */
export function evidenceBody(event: AuditEvent): string {
  return canonicalJson(event);
}

/** What {@link archiveEvent} did: wrote the object, or found the very same one there (a redelivery). */
export type ArchiveOutcome = 'written' | 'already-archived';

/**
 * Archives one event, write-once. A redelivered event finds its object already there and compares it:
 * identical is done, different means the table was rewritten since, and throws EvidenceMismatchError.
 * Then writes the event's head marker (`heads/<day>/…`, write-once too), which the daily digest lists.
 */
export async function archiveEvent(archive: EvidenceArchive, event: AuditEvent): Promise<ArchiveOutcome> {
  const key = evidenceKey(event.requestId, event.seq);
  const body = evidenceBody(event);
  let outcome: ArchiveOutcome = 'written';
  try {
    await archive.put(key, body);
  } catch (error) {
    if (!(error instanceof AlreadyArchivedError)) throw error;
    const archived = await archive.get(key);
    if (archived !== body) {
      throw new EvidenceMismatchError(`${key} is archived with other content than the table's event`);
    }
    outcome = 'already-archived';
  }
  await archiveHead(archive, event);
  return outcome;
}

/** One change record of the table, already decoded: its id in the batch and the new item, if any. */
export interface ChangeRecord {
  readonly id: string;
  readonly item: Readonly<Record<string, unknown>> | undefined;
}

/** The audit event an item of the table holds, or undefined for any other item (META, Slack cards…). */
export function eventOfItem(item: Readonly<Record<string, unknown>> | undefined): AuditEvent | undefined {
  if (!item || typeof item.sk !== 'string' || !item.sk.startsWith('EVT#')) return undefined;
  const { pk: _pk, sk: _sk, ...event } = item;
  return event as unknown as AuditEvent;
}

/**
 * Archives the events of a batch of change records, in order. At the first failure it stops and returns
 * that record's id: the stream retries from there (the records after it too), so no event is ever skipped,
 * and a record that keeps failing is bisected down to itself and then sent to the dead-letter queue.
 */
export async function archiveChanges(
  archive: EvidenceArchive,
  records: readonly ChangeRecord[],
  onError: (id: string, error: unknown) => void = () => {},
): Promise<{ readonly archived: number; readonly failedId?: string }> {
  let archived = 0;
  for (const record of records) {
    const event = eventOfItem(record.item);
    if (!event) continue;
    try {
      await archiveEvent(archive, event);
      archived++;
    } catch (error) {
      onError(record.id, error);
      return { archived, failedId: record.id };
    }
  }
  return { archived };
}

/** The outcome of comparing a request's history in the table with the archive. */
export type EvidenceCheck =
  | { readonly ok: true; readonly requestId: string; readonly events: number }
  | {
      readonly ok: false;
      readonly requestId: string;
      /** The first event that differs (or is missing on one side). */
      readonly seq: number;
      readonly reason: string;
    };

/** Reads every archived event of a request, in seq order. */
export async function archivedEvents(archive: EvidenceArchive, requestId: string): Promise<AuditEvent[]> {
  const keys = await archive.list(evidencePrefix(requestId));
  const bodies = await Promise.all(keys.map((key) => archive.get(key)));
  return bodies.flatMap((body) => (body === undefined ? [] : [JSON.parse(body) as AuditEvent]));
}

/**
 * Compares a request's events and anchor in the table (`table` undefined: the request is gone) with the
 * archive. Reports the first event that differs: edited (even with the chain re-hashed), reordered, deleted
 * or truncated histories, a deleted request, and events not archived (yet: the archive lags by seconds).
 */
export function compareWithArchive(
  requestId: string,
  table:
    | { readonly events: readonly AuditEvent[]; readonly version: number; readonly lastHash: string }
    | undefined,
  archived: readonly AuditEvent[],
): EvidenceCheck {
  const fail = (seq: number, reason: string): EvidenceCheck => ({ ok: false, requestId, seq, reason });
  const own = verifyChain(archived);
  if (!own.ok) return fail(own.seq, `the archive itself does not verify: ${own.reason}`);
  if (!table) {
    return archived.length > 0
      ? fail(1, `the request is not in the table, but ${archived.length} of its events are archived`)
      : fail(0, 'no such request in the table or the archive');
  }
  const chain = verifyChain(table.events, { version: table.version, lastHash: table.lastHash });
  const length = Math.max(table.events.length, archived.length);
  for (let i = 0; i < length; i++) {
    const mine = table.events[i];
    const theirs = archived[i];
    if (!mine) return fail(i + 1, 'archived, but missing from the table (deleted or truncated)');
    if (!theirs) return fail(mine.seq, 'in the table, but not in the archive (yet)');
    if (evidenceBody(mine) !== evidenceBody(theirs)) {
      return fail(theirs.seq, 'differs from the archived event (edited, re-hashed or reordered)');
    }
  }
  if (!chain.ok) return fail(chain.seq, `the table's chain does not verify: ${chain.reason}`);
  return { ok: true, requestId, events: table.events.length };
}

/** Verifies one request's history in the table against the write-once archive. */
export async function verifyAgainstArchive(
  deps: { readonly store: Pick<AuditStore, 'get' | 'events'>; readonly archive: EvidenceArchive },
  requestId: string,
): Promise<EvidenceCheck> {
  const [request, events, archived] = await Promise.all([
    deps.store.get(requestId),
    deps.store.events(requestId),
    archivedEvents(deps.archive, requestId),
  ]);
  const table = request ? { events, version: request.version, lastHash: request.lastHash } : undefined;
  return compareWithArchive(requestId, table, archived);
}
