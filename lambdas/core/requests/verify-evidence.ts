import { archivedEvents, compareWithArchive, type EvidenceCheck } from '../audit/evidence.ts';
import { ConfigError, ForbiddenError, NotFoundError } from '../errors.ts';
import type { Deps } from '../ports.ts';
import { isApprover, isAuditor, ruleOf } from './access.ts';

/**
 * `GET /requests/{id}/verify`: compares the request's history in the table with the write-once archive.
 * Same read rule as `GET /requests/{id}` (the requester, the approvers of its rule, the auditors); for a request gone
 * from the table, the rule is read from its archived first event (its actor is the requester).
 */
export async function verifyRequestEvidence(
  deps: Pick<Deps, 'store' | 'config' | 'evidence'>,
  caller: string,
  id: string,
): Promise<EvidenceCheck & { readonly verifiedAgainst: 'archive' }> {
  const archive = deps.evidence;
  if (!archive) throw new ConfigError('the evidence archive is not wired in this function');
  const [request, archived] = await Promise.all([deps.store.get(id), archivedEvents(archive, id)]);
  const first = archived[0];
  const requester = request?.requester ?? first?.actor;
  const ruleId = request?.ruleId ?? (first?.details?.ruleId as string | undefined);
  if (requester === undefined) throw new NotFoundError(`request ${id} not found`);
  if (
    requester !== caller &&
    !isApprover(ruleOf(deps.config, { ruleId: ruleId ?? '' }), caller) &&
    !isAuditor(deps.config, caller)
  ) {
    throw new ForbiddenError(
      'only the requester, the approvers of its rule and the auditors may verify this request',
    );
  }
  // Read the events after the item: an event landing in between shows as one the item does not expect,
  // and reading again settles it (as GET /requests/{id} does).
  for (let i = 1; ; i++) {
    const item = await deps.store.get(id);
    const events = await deps.store.events(id);
    const again = await deps.store.get(id);
    if (i < 5 && item && again && item.version !== again.version) continue;
    const table = item ? { events, version: item.version, lastHash: item.lastHash } : undefined;
    const fresh = item && archived.length < item.version ? await archivedEvents(archive, id) : archived;
    return { ...compareWithArchive(id, table, fresh), verifiedAgainst: 'archive' };
  }
}
