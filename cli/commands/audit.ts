import { type Command, InvalidArgumentError } from 'commander';
import type { DigestCheck } from '#core/audit/digest.ts';
import type { EvidenceCheck } from '#core/audit/evidence.ts';
import { idArg } from '../args.ts';
import { contextOf } from '../context.ts';
import { CliError, EXIT } from '../errors.ts';
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

/** `jit audit verify <id>` and `jit audit verify --since 30d`. */
export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('audit evidence: check the log against the archive');
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
