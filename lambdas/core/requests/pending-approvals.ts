import { type PublicRequest, toPublic } from '../model.ts';
import { samePerson } from '../policy/people.ts';
import type { Deps } from '../ports.ts';
import { isApprover, ruleOf } from './requests.ts';

/** The most requests `GET /pending` answers with. */
export const PENDING_LIMIT = 100;

/**
 * How many pending requests (all approvers') are read to find the caller's: the store cannot filter by
 * approver (approvers are patterns on the rule), so the window is wider than the answer, and a caller is not
 * starved by other teams' pending requests unless more than this many wait at once.
 */
export const PENDING_SCAN_LIMIT = 1000;

/**
 * `GET /pending`: the requests awaiting the caller's decision, oldest (createdAt) first, at most {@link PENDING_LIMIT}:
 * PENDING_APPROVAL, the caller is an approver of the rule, is not the requester and has not voted yet, with
 * the same notion of a person as `decide`, so every request listed is one the caller may approve or deny.
 */
export async function pendingApprovals(
  deps: Pick<Deps, 'store' | 'config'>,
  caller: string,
): Promise<PublicRequest[]> {
  const pending = await deps.store.findPendingApproval(PENDING_SCAN_LIMIT);
  // The store orders by last change (a vote moves a request back in the index); the caller reads by age.
  return pending
    .filter(
      (request) =>
        isApprover(ruleOf(deps.config, request), caller) &&
        !samePerson(deps.config, request.requester, caller) &&
        !request.approvals.some((vote) => samePerson(deps.config, vote.approver, caller)),
    )
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
    .slice(0, PENDING_LIMIT)
    .map(toPublic);
}
