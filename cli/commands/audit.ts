import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import type { DigestCheck } from '#core/audit/digest.ts';
import type { EvidenceCheck } from '#core/audit/evidence.ts';
import { idArg } from '../args.ts';
import {
  GRANTED_STATUSES,
  HINT_MIN_GRANTS,
  HINT_MIN_UNUSED_SHARE,
  type Skipped,
  summarize,
  summaryMarkdown,
  summaryText,
} from '../audit-summary.ts';
import { HttpError, type JitClient, requestId } from '../client.ts';
import { contextOf } from '../context.ts';
import { CliError, EXIT } from '../errors.ts';
import type { Output } from '../output.ts';
import {
  type ActivityReview,
  percent,
  REVIEW_FORMATS,
  type ReviewFormat,
  renderReview,
} from '../review-format.ts';
import type { PublicRequest, RequestPage } from '../types.ts';

/** `GET /requests/{id}/verify`. */
export type VerifyAnswer = EvidenceCheck & { readonly verifiedAgainst: 'archive' };

/** Commander parser for `--since`: days (`30d`), hours (`12h`) or minutes, as milliseconds. */
export function sinceArg(value: string): number {
  const m = /^(\d+)([dhm])$/.exec(value.trim());
  const n = Number(m?.[1]);
  if (!m || n <= 0 || n > 3650) throw new InvalidArgumentError('must look like 30d, 12h or 90m');
  return n * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
}

/** `GET /evidence/digests`. */
export type DigestAnswer = DigestCheck & { readonly verifiedAgainst: 'archive' };

/** The lines of a digest chain check. */
export function describeDigests(check: DigestAnswer): string[] {
  if (check.ok) {
    return [
      check.digests === 0
        ? 'daily digests: none in that window yet'
        : `daily digests ${check.from} → ${check.through} verify (${check.digests} days, ${check.requests} entries)`,
    ];
  }
  return check.problems.map(
    (p) => `daily digest ${p.day}${p.requestId ? `  ${p.requestId}` : ''}  DOES NOT VERIFY: ${p.reason}`,
  );
}

/** One line of a verification. */
export function describeCheck(check: VerifyAnswer): string {
  return check.ok
    ? `${check.requestId}  verified against the archive (${check.events} events)`
    : `${check.requestId}  DOES NOT VERIFY at event ${check.seq}: ${check.reason}`;
}

/** The calls `jit audit` makes: the client, or a fake of it in tests. */
export type AuditClient = Pick<JitClient, 'call'>;

/** The options of `jit audit` itself (not of `jit audit verify`). */
export interface AuditFlags {
  readonly since?: number;
  readonly rule?: string;
  readonly format?: ReviewFormat;
  readonly output?: string;
}

/** How many reviews `jit audit --since` asks for at once. */
export const REVIEW_CONCURRENCY = 4;

/**
 * `GET /requests/{id}/review`. The id is checked by `requestId` (letters, digits and -) first: ids also come
 * from list answers, and a bad one is a usage error rather than a 404.
 */
export function fetchReview(client: AuditClient, id: string): Promise<ActivityReview> {
  return client.call<ActivityReview>('GET /requests/{id}/review', { id: requestId(id) });
}

/** `fn` over `items`, at most `limit` at a time, results in the order of `items`; the first failure rejects. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The requests created at or after `since` (ISO), of every requester for an auditor, through every page. */
export async function requestsSince(
  client: AuditClient,
  since: string,
  rule?: string,
): Promise<PublicRequest[]> {
  const requests: PublicRequest[] = [];
  const seen = new Set<string>();
  let next: string | undefined;
  do {
    const page = await client.call<RequestPage>(
      'GET /requests',
      {},
      { query: { limit: '100', since, rule, next } },
    );
    requests.push(...page.requests);
    next = page.next;
    // A cursor seen before would loop forever: the API never sends one, but the CLI does not rely on it.
    if (next !== undefined && seen.has(next)) break;
    if (next !== undefined) seen.add(next);
  } while (next !== undefined);
  return requests;
}

/** Writes a result to `file` (owner-only: a review names people, sessions and addresses) or to stdout. */
function emit(out: Output, text: string, file: string | undefined): void {
  const ended = text.endsWith('\n') ? text : `${text}\n`;
  if (file === undefined) {
    out.stdout.write(ended);
    return;
  }
  try {
    writeFileSync(file, ended, { mode: 0o600 });
  } catch (error) {
    throw new CliError(`cannot write ${file}: ${(error as Error).message}`, EXIT.FAILURE);
  }
  out.progress(`wrote ${file}`);
}

/** `jit audit <id>`: the review of one grant in the asked format. */
export async function printReview(
  client: AuditClient,
  out: Output,
  id: string,
  flags: AuditFlags,
): Promise<ActivityReview> {
  const review = await fetchReview(client, id);
  const format = flags.format ?? (out.json ? 'json' : 'table');
  // Colour only on the terminal: a file gets plain text.
  const colours = flags.output === undefined ? out.c : pc.createColors(false);
  emit(out, renderReview(review, format, colours), flags.output);
  return review;
}

/**
 * `jit audit --since 7d`: every request of the window (`GET /requests?since=`), the review of each that was
 * granted (at most REVIEW_CONCURRENCY at a time), summed up. A review the caller may not read, or that
 * does not exist or was never granted (403, 404, 409), is listed as not reviewed; any other failure stops.
 */
export async function printSummary(
  client: AuditClient,
  out: Output,
  sinceMs: number,
  flags: AuditFlags,
  now = Date.now(),
): Promise<ReturnType<typeof summarize>> {
  const format = flags.format ?? (out.json ? 'json' : 'table');
  if (format === 'html') throw new CliError('--format html is for one review: jit audit <id>', EXIT.INVALID);
  const since = new Date(now - sinceMs).toISOString();
  const granted = (await requestsSince(client, since, flags.rule)).filter((r) =>
    GRANTED_STATUSES.includes(r.status),
  );
  if (out.interactive && granted.length) out.progress(`reviewing ${granted.length} grant(s)…`);
  const skipped: Skipped[] = [];
  const answers = await mapBounded(granted, REVIEW_CONCURRENCY, async (r) => {
    try {
      return await fetchReview(client, r.id);
    } catch (error) {
      if (error instanceof HttpError && [403, 404, 409].includes(error.status)) {
        skipped.push({ requestId: r.id, reason: error.message });
        return undefined;
      }
      throw error;
    }
  });
  const reviews = answers.filter((a): a is ActivityReview => a !== undefined);
  const summary = summarize(since, reviews, skipped);
  const colours = flags.output === undefined ? out.c : pc.createColors(false);
  const text =
    format === 'json'
      ? JSON.stringify(summary, null, 2)
      : format === 'md'
        ? summaryMarkdown(summary)
        : summaryText(summary, colours);
  emit(out, text, flags.output);
  return summary;
}

/**
 * `jit audit <id>` (one grant's review), `jit audit --since 7d` (the window summed up), and
 * `jit audit verify <id>` / `jit audit verify --since 30d` (the log against the archive).
 */
export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description(
      'review what grants did (calls, refusals, unused actions) and check the log against the archive',
    )
    .addHelpText(
      'after',
      `
jit audit <id> and jit audit --since <age> run jit audit review (the default subcommand): see its --help.

Examples:
  $ jit audit 01J9Z6Q4N8W0X2K3M5P7R9T1V3
  $ jit audit 01J9Z6Q4N8W0X2K3M5P7R9T1V3 --format html --output review.html
  $ jit audit --since 7d
  $ jit audit verify --since 30d`,
    );
  // The default subcommand rather than options on `audit` itself: commander hands an option it does not know
  // to the subcommand named first, so `jit audit verify --since 30d` stays verify's --since, while
  // `jit audit <id>` and `jit audit --since 7d` (no subcommand named) land here.
  audit
    .command('review', { isDefault: true })
    .description(
      "print a grant's review, or summarize the grants of a window (requester, approvers, auditors)",
    )
    .argument('[id]', 'the request id whose review to print', idArg)
    .option(
      '--since <age>',
      'summarize the grants of requests created in this window (7d, 12h, 90m)',
      sinceArg,
    )
    .option('--rule <id>', 'with --since: only the requests of this rule')
    .addOption(
      new Option(
        '--format <format>',
        'table (default), json (as received), md, or html (one review)',
      ).choices(REVIEW_FORMATS),
    )
    .option('--output <file>', 'write to this file (owner-only) instead of stdout')
    .addHelpText(
      'after',
      `
jit audit <id> prints the review of a granted request (GET /requests/{id}/review): who asked and approved,
the window, the first use, every action × resource used (calls, sessions, source IPs), the calls refused
(inside or outside the grant), the granted actions never used, a least-privilege policy of what was used,
what the review could see, and the request's hash chain. A review is PROVISIONAL until it is stored
(15 minutes after the revoke); an INCOMPLETE one missed a source and may miss calls.
--format md is a report to paste into a ticket; --format html one self-contained page (no scripts, no
external assets) with a timeline of the window; --format json the review as the API answers it.

jit audit --since <age> reviews every grant of the window: auditors see every requester's, others their own.
It prints the grants reviewed, calls, refusals, the mean unused share, the grants never used, and hints for
rules whose grants leave at least ${percent(HINT_MIN_UNUSED_SHARE)} of their actions unused over ${HINT_MIN_GRANTS} grants or more.

Exits 0 when the review or summary was printed; 1 when the request was never granted (409) or is unknown,
6 when you may not read it.

Examples:
  $ jit audit 01J9Z6Q4N8W0X2K3M5P7R9T1V3
  $ jit audit 01J9Z6Q4N8W0X2K3M5P7R9T1V3 --format html --output review.html
  $ jit audit 01J9Z6Q4N8W0X2K3M5P7R9T1V3 --format md | pbcopy
  $ jit audit --since 7d
  $ jit audit --since 30d --rule app-read --format md
  $ jit audit review --since 7d --json`,
    )
    .action(async (id: string | undefined, flags: AuditFlags, command: Command) => {
      if ((id === undefined) === (flags.since === undefined)) {
        throw new CliError('give a request id or --since, not both (or: jit audit verify)', EXIT.INVALID);
      }
      if (id !== undefined && flags.rule !== undefined) {
        throw new CliError('--rule narrows --since, not a review by id', EXIT.INVALID);
      }
      const { client, out } = contextOf(command);
      if (id !== undefined) await printReview(client, out, id, flags);
      else await printSummary(client, out, flags.since ?? 0, flags);
    });
  audit
    .command('verify')
    .description("compare a request's audit log with the write-once archive (requester or approvers)")
    .argument('[id]', 'the request id', idArg)
    .option('--since <age>', 'every request of yours created in this window (30d, 12h, 90m)', sinceArg)
    .addHelpText(
      'after',
      `
Exits 0 when every request verifies, 1 when one does not (the first event that differs is printed).
--since walks your own requests (GET /requests); an approver verifies others' requests by id.
--since also checks the daily digest chain of the window (GET /evidence/digests), which finds requests
deleted or truncated in the table; only approvers of some rule may (others see it skipped).

Examples:
  $ jit audit verify 01J9Z6Q4N8W0X2K3M5P7R9T1V3
  $ jit audit verify --since 30d --json`,
    )
    .action(async (id: string | undefined, flags: { since?: number }, command: Command) => {
      const { client, out } = contextOf(command);
      if ((id === undefined) === (flags.since === undefined)) {
        throw new CliError('give a request id or --since, not both', EXIT.INVALID);
      }
      const ids = id !== undefined ? [id] : await ownRequestsSince(client, Date.now() - (flags.since ?? 0));
      const checks: VerifyAnswer[] = [];
      for (const each of ids)
        checks.push(await client.call<VerifyAnswer>('GET /requests/{id}/verify', { id: each }));
      const digests = flags.since === undefined ? undefined : await digestsSince(client, flags.since);
      out.result({ checks, ...(digests ? { digests } : {}) }, () =>
        [
          checks.map(describeCheck).join('\n') || 'no requests in that window',
          ...(digests === undefined
            ? []
            : digests === null
              ? ['daily digests: not checked (approvers only)']
              : describeDigests(digests)),
        ].join('\n'),
      );
      const failed = checks.filter((c) => !c.ok).length;
      if (failed > 0)
        throw new CliError(`${failed} of ${checks.length} request(s) do not verify`, EXIT.FAILURE);
      if (digests && !digests.ok) {
        throw new CliError(
          `the daily digests do not verify (${digests.problems.length} problem(s))`,
          EXIT.FAILURE,
        );
      }
    });
}

/** The caller's requests created at or after `since` (ms), newest first, through every page. */
async function ownRequestsSince(
  client: ReturnType<typeof contextOf>['client'],
  since: number,
): Promise<string[]> {
  const ids: string[] = [];
  let next: string | undefined;
  do {
    const page = await client.call<RequestPage>('GET /requests', {}, { query: { limit: '100', next } });
    const recent = page.requests.filter((r: PublicRequest) => Date.parse(r.createdAt) >= since);
    ids.push(...recent.map((r) => r.id));
    // Newest first: a page with an older request ends the window.
    if (recent.length < page.requests.length) break;
    next = page.next;
  } while (next !== undefined);
  return ids;
}

/** The digest chain of the last `sinceMs` (whole days, at least one); null when the caller may not check it. */
async function digestsSince(
  client: ReturnType<typeof contextOf>['client'],
  sinceMs: number,
): Promise<DigestAnswer | null> {
  const since = String(Math.min(3650, Math.max(1, Math.ceil(sinceMs / 86_400_000))));
  try {
    return await client.call<DigestAnswer>('GET /evidence/digests', {}, { query: { since } });
  } catch (error) {
    if (error instanceof CliError && error.exitCode === EXIT.UNAUTHORIZED) return null;
    throw error;
  }
}
