/** Request statuses and the only moves between them (DESIGN.md "Request lifecycle"). */

export const STATUSES = [
  'REQUESTED',
  'REJECTED',
  'PENDING_APPROVAL',
  'APPROVED',
  'DENIED',
  'APPROVAL_EXPIRED',
  'CANCELLED',
  'GRANTED',
  'GRANT_FAILED',
  'REVOKED',
  'REVOKE_FAILED',
] as const;

export type Status = (typeof STATUSES)[number];

/**
 * Legal moves. `PENDING_APPROVAL → PENDING_APPROVAL` is an approval vote that does not yet reach the quorum:
 * it changes the approvals on the request and is logged like any other move, so every vote is in the chain.
 */
const MOVES: Readonly<Record<Status, readonly Status[]>> = {
  REQUESTED: ['REJECTED', 'PENDING_APPROVAL', 'APPROVED', 'CANCELLED'],
  PENDING_APPROVAL: ['PENDING_APPROVAL', 'APPROVED', 'DENIED', 'APPROVAL_EXPIRED', 'CANCELLED'],
  APPROVED: ['GRANTED', 'GRANT_FAILED'],
  GRANTED: ['REVOKED', 'REVOKE_FAILED'],
  REVOKE_FAILED: ['REVOKED'],
  REJECTED: [],
  DENIED: [],
  APPROVAL_EXPIRED: [],
  CANCELLED: [],
  GRANT_FAILED: [],
  REVOKED: [],
};

/**
 * Notes: an event that keeps the status but must be in the chain. `GRANTED → GRANTED` records that the
 * requester collected STS credentials; `REVOKED → REVOKED` records that the session-deny policy of a
 * credentials grant was removed after the credentials expired; on any of the three statuses that follow a
 * grant, `FIRST_USED` (the grant's first call, once) and `REVIEWED` (an audit review stored, with its hash).
 * No note reopens a request.
 */
const NOTES: readonly Status[] = ['GRANTED', 'REVOKE_FAILED', 'REVOKED'];

/** True when the lifecycle allows moving from `from` to `to` (including a note on the same status). */
export function isLegalTransition(from: Status, to: Status): boolean {
  return MOVES[from].includes(to) || (from === to && NOTES.includes(from));
}

/** True when no move to another status is possible. */
export function isTerminal(status: Status): boolean {
  return MOVES[status].length === 0;
}

/** Statuses in which a policy may be attached to the target (the sweeper's and the revoke's concern). */
export const HOLDS_GRANT: readonly Status[] = ['GRANTED', 'REVOKE_FAILED'];

/**
 * Statuses the workflow still has to move on (to a decision or a grant); a request that stays in one after
 * its execution ended is the reconciler's to close.
 */
export const IN_FLIGHT: readonly Status[] = ['REQUESTED', 'PENDING_APPROVAL', 'APPROVED'];
