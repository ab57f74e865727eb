/**
 * The one definition of the audit table's keys and indexes. The CDK table and the local runtime's
 * DynamoDB Local table are both built from it.
 */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  indexes: {
    /** Requests of one requester, newest first (only META items carry `requester`). */
    byRequester: { name: 'byRequester', partitionKey: 'requester', sortKey: 'createdAt' },
    /** Grants that may still be attached, by expiry (sparse: `grantState` exists only while one is held). */
    activeGrants: { name: 'activeGrants', partitionKey: 'grantState', sortKey: 'expiresAt' },
    /**
     * Requests the broker still has work on, by last change (sparse): `openState` = OPEN while the status is
     * REQUESTED, PENDING_APPROVAL or APPROVED (the reconciler's search), FOLLOW_UP while `followUpAt` is set
     * (the review job's search).
     */
    openRequests: { name: 'openRequests', partitionKey: 'openState', sortKey: 'updatedAt' },
    /** Every request by creation month, newest first: the auditors' listing (`createdMonth` = `yyyy-MM`). */
    byMonth: { name: 'byMonth', partitionKey: 'createdMonth', sortKey: 'createdAt' },
  },
} as const;

/** Key helpers, so item layout is spelled once. */
export const keys = {
  meta: (id: string) => ({ pk: `REQ#${id}`, sk: 'META' }),
  event: (id: string, seq: number) => ({ pk: `REQ#${id}`, sk: `EVT#${String(seq).padStart(6, '0')}` }),
  eventPrefix: 'EVT#',
  requestPk: (id: string) => `REQ#${id}`,
  review: (id: string) => ({ pk: `REQ#${id}`, sk: 'REVIEW' }),
} as const;

/** Value of `grantState` while a grant may be attached. */
export const ACTIVE_GRANT = 'ACTIVE';

/** Value of `openState` while the workflow still has to decide or grant the request. */
export const OPEN_REQUEST = 'OPEN';

/**
 * Value of `openState` while the broker has follow-up work on a finished request (`followUpAt` set: an
 * audit review pass, a break-glass review deadline). A request is never in flight and followed up at once,
 * so the one sparse index serves both searches.
 */
export const FOLLOW_UP = 'FOLLOW_UP';
