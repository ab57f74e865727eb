import { createHash } from 'node:crypto';
import { AlreadyArchivedError, EvidenceMismatchError } from '../errors.ts';
import type { AuditEvent } from '../model.ts';
import type { AuditStore, EvidenceArchive } from '../ports.ts';
import { canonicalJson, GENESIS_HASH } from './chain.ts';

/** The UTC day (`YYYY-MM-DD`) of an instant. */
export function dayOf(at: string | Date): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** The UTC day `n` days after `day` (negative: before). */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** One request's last event of a day: what a head marker and a digest entry hold. */
export interface DigestEntry {
  readonly requestId: string;
  readonly seq: number;
  readonly hash: string;
}

/** The digest of one day: the requests that changed that day, chained from the previous day's digest. */
export interface Digest {
  readonly day: string;
  readonly requests: readonly DigestEntry[];
  /** The hash of the previous day's digest, or GENESIS_HASH for the first digest. */
  readonly previous: string;
  readonly hash: string;
}

/** `heads/<day>/<requestId>/<seq, 10 digits>.json`: the marker the writer leaves next to each event. */
export function headKey(event: Pick<AuditEvent, 'requestId' | 'seq' | 'at'>): string {
  return `heads/${dayOf(event.at)}/${event.requestId}/${String(event.seq).padStart(10, '0')}.json`;
}

/** `digests/<day>.json`. */
export function digestKey(day: string): string {
  return `digests/${day}.json`;
}

/** SHA-256 over the digest's canonical JSON without its own hash. */
export function hashDigest(digest: Omit<Digest, 'hash'>): string {
  const { day, requests, previous } = digest;
  return createHash('sha256').update(canonicalJson({ day, requests, previous })).digest('hex');
}

/**
 * Writes the head marker of an archived event (write-once, as the event). A redelivery finds it there:
 * identical is fine, different means the table was rewritten since.
 */
export async function archiveHead(archive: EvidenceArchive, event: AuditEvent): Promise<void> {
  const key = headKey(event);
  const body = canonicalJson({ requestId: event.requestId, seq: event.seq, hash: event.hash });
  try {
    await archive.put(key, body);
  } catch (error) {
    if (!(error instanceof AlreadyArchivedError)) throw error;
    if ((await archive.get(key)) !== body) {
      throw new EvidenceMismatchError(`${key} is archived with other content than the table's event`);
    }
  }
}

/** The digest of `day` as the heads archived so far say: the highest seq per request, by request id. */
export async function computeDigest(
  archive: EvidenceArchive,
  day: string,
  previous: string,
): Promise<Digest> {
  const last = new Map<string, string>();
  for (const key of await archive.list(`heads/${day}/`)) {
    const [, , requestId] = key.split('/');
    if (requestId) last.set(requestId, key); // keys sort by seq within a request
  }
  const requests: DigestEntry[] = [];
  for (const requestId of [...last.keys()].sort()) {
    const body = await archive.get(last.get(requestId) as string);
    if (body === undefined) continue;
    const { seq, hash } = JSON.parse(body) as DigestEntry;
    requests.push({ requestId, seq, hash });
  }
  const unhashed = { day, requests, previous };
  return { ...unhashed, hash: hashDigest(unhashed) };
}

/** Every digest in the archive, by day. */
async function digestDays(archive: EvidenceArchive): Promise<string[]> {
  return (await archive.list('digests/')).map((k) => k.slice('digests/'.length, -'.json'.length)).sort();
}

async function readDigest(archive: EvidenceArchive, day: string): Promise<Digest | undefined> {
  const body = await archive.get(digestKey(day));
  return body === undefined ? undefined : (JSON.parse(body) as Digest);
}

/** What {@link buildDigests} did for one day. */
export interface DigestOutcome {
  readonly day: string;
  readonly outcome: 'written' | 'already-built';
  /** For an existing digest: whether the heads archived now still give the same content (a late event does not). */
  readonly agrees: boolean;
  readonly requests: number;
}

/**
 * The daily digest use case: writes `digests/<day>.json` for every day after the last digest up to
 * `through` (inclusive, a day that is over), each chained from the day before; the first digest ever starts
 * at the first day with heads (or `through`) from GENESIS_HASH. A digest that exists is left as it is
 * (write-once) and compared with what the heads give now. Running it twice writes once.
 */
export async function buildDigests(archive: EvidenceArchive, through: string): Promise<DigestOutcome[]> {
  const days = await digestDays(archive);
  let start: string;
  if (days.length > 0) {
    start = days.at(-1) as string;
  } else {
    const firstHead = (await archive.list('heads/'))[0]?.split('/')[1];
    start = firstHead !== undefined && firstHead < through ? firstHead : through;
  }
  const outcomes: DigestOutcome[] = [];
  let previous = start === days.at(-1) ? undefined : GENESIS_HASH;
  if (previous === undefined) {
    // The last digest: compare it, and chain on from it.
    const prior = await readDigest(archive, addDays(start, -1));
    previous = prior?.hash ?? GENESIS_HASH;
  }
  for (let day = start; day <= through; day = addDays(day, 1)) {
    const built = await computeDigest(archive, day, previous);
    const existing = await readDigest(archive, day);
    if (existing) {
      outcomes.push({
        day,
        outcome: 'already-built',
        agrees: existing.hash === built.hash,
        requests: existing.requests.length,
      });
      previous = existing.hash;
      continue;
    }
    try {
      await archive.put(digestKey(day), canonicalJson(built));
      outcomes.push({ day, outcome: 'written', agrees: true, requests: built.requests.length });
      previous = built.hash;
    } catch (error) {
      if (!(error instanceof AlreadyArchivedError)) throw error;
      const raced = (await readDigest(archive, day)) as Digest;
      outcomes.push({
        day,
        outcome: 'already-built',
        agrees: raced.hash === built.hash,
        requests: raced.requests.length,
      });
      previous = raced.hash;
    }
  }
  return outcomes;
}

/** One problem {@link verifyDigests} found. */
export interface DigestProblem {
  readonly day: string;
  readonly requestId?: string;
  readonly reason: string;
}

/** The outcome of {@link verifyDigests}. */
export interface DigestCheck {
  readonly ok: boolean;
  /** The days whose digests were checked (first and last), if any. */
  readonly from?: string;
  readonly through?: string;
  readonly digests: number;
  readonly requests: number;
  readonly problems: readonly DigestProblem[];
}

/**
 * Checks the digest chain from `since` (a day) on: each digest's own hash, each `previous` against the
 * prior day's digest, no day missing between the first and the last (nor up to `expectThrough`, when
 * given); and that every request a digest names is still in the table with at least that seq and the same
 * hash at that seq, so a request deleted or truncated in the table is reported with the day and its id.
 */
export async function verifyDigests(
  deps: { readonly store: Pick<AuditStore, 'get' | 'events'>; readonly archive: EvidenceArchive },
  opts: { readonly since: string; readonly expectThrough?: string },
): Promise<DigestCheck> {
  const problems: DigestProblem[] = [];
  const all = await digestDays(deps.archive);
  const days = all.filter((d) => d >= opts.since);
  const before = all.filter((d) => d < opts.since).at(-1);
  let prior = before === undefined ? undefined : await readDigest(deps.archive, before);
  let expected = prior ? addDays(prior.day, 1) : days[0];
  let requests = 0;
  for (const day of days) {
    const digest = await readDigest(deps.archive, day);
    if (!digest) continue;
    for (let gap = expected; gap !== undefined && gap < day; gap = addDays(gap, 1)) {
      problems.push({ day: gap, reason: 'no digest for this day (deleted?)' });
    }
    const { hash, ...unhashed } = digest;
    if (digest.day !== day || hashDigest(unhashed) !== hash) {
      problems.push({ day, reason: "the digest's hash does not match its content (edited)" });
    }
    const wanted = prior && prior.day === addDays(day, -1) ? prior.hash : prior ? undefined : digest.previous;
    if (wanted !== undefined && digest.previous !== wanted) {
      problems.push({
        day,
        reason: "previous is not the hash of the prior day's digest (the chain is broken)",
      });
    }
    for (const entry of digest.requests) {
      requests++;
      const problem = await checkEntry(deps.store, entry);
      if (problem) problems.push({ day, requestId: entry.requestId, reason: problem });
    }
    prior = digest;
    expected = addDays(day, 1);
  }
  if (opts.expectThrough !== undefined && expected !== undefined) {
    for (let gap = expected; gap <= opts.expectThrough; gap = addDays(gap, 1)) {
      problems.push({
        day: gap,
        reason: 'no digest for this day (deleted, or the digest function is not running)',
      });
    }
  }
  return {
    ok: problems.length === 0,
    ...(days.length > 0 ? { from: days[0], through: days.at(-1) } : {}),
    digests: days.length,
    requests,
    problems,
  };
}

async function checkEntry(
  store: Pick<AuditStore, 'get' | 'events'>,
  entry: DigestEntry,
): Promise<string | undefined> {
  const request = await store.get(entry.requestId);
  if (!request) return `the request is not in the table (deleted); the digest names seq ${entry.seq}`;
  if (request.version < entry.seq) {
    return `the table holds ${request.version} events, the digest names seq ${entry.seq} (truncated)`;
  }
  const events = await store.events(entry.requestId);
  const event = events.find((e) => e.seq === entry.seq);
  if (!event) return `event ${entry.seq} is missing from the table (truncated or deleted)`;
  if (event.hash !== entry.hash)
    return `event ${entry.seq} has another hash than the digest names (rewritten)`;
  return undefined;
}
