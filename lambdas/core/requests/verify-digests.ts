import { addDays, type DigestCheck, dayOf, verifyDigests } from '../audit/digest.ts';
import { ConfigError, ForbiddenError } from '../errors.ts';
import type { Deps } from '../ports.ts';
import { isApprover, isAuditor } from './access.ts';

/** The longest window `GET /evidence/digests` checks, in days. */
export const DIGEST_WINDOW_MAX_DAYS = 3650;

/**
 * `GET /evidence/digests?since=<days>`: checks the daily digest chain of the last `sinceDays` days against
 * the archive and the table (see {@link verifyDigests}); every day up to the day before yesterday (UTC)
 * must have its digest (yesterday's is written at 00:30). The broker has no auditor role yet, so the
 * callers allowed are the approvers of some rule: the digests name every request, whoever asked.
 */
export async function verifyEvidenceDigests(
  deps: Pick<Deps, 'store' | 'config' | 'evidence' | 'clock'>,
  caller: string,
  sinceDays: number,
): Promise<DigestCheck & { readonly verifiedAgainst: 'archive' }> {
  const archive = deps.evidence;
  if (!archive) throw new ConfigError('the evidence archive is not wired in this function');
  if (!deps.config.rules.some((rule) => isApprover(rule, caller)) && !isAuditor(deps.config, caller)) {
    throw new ForbiddenError('only the approvers of some rule and the auditors may verify the daily digests');
  }
  const today = dayOf(deps.clock.now());
  const check = await verifyDigests(
    { store: deps.store, archive },
    { since: addDays(today, -sinceDays), expectThrough: addDays(today, -2) },
  );
  return { ...check, verifiedAgainst: 'archive' };
}
