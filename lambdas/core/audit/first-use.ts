/**
 * The `FIRST_USED` note: when a grant was first used, recorded once per grant. Credentials grants learn it
 * in near real time (CloudTrail → EventBridge in the target account → the hub's bus → the first-use
 * function); inline grants from the audit review (the first call the grant allowed).
 */
import { TransitionRefusedError } from '../errors.ts';
import { HOLDS_GRANT, type Status } from '../lifecycle.ts';
import type { AccessRequest } from '../model.ts';
import type { Deps } from '../ports.ts';
import { principalOf, splitArn } from '../principals.ts';
import { type ActivityEvent, actionOf } from './activity.ts';
import { move } from './transition.ts';

/** What a first-use record did: written, found already written, or not one of ours. */
export type FirstUseOutcome = 'recorded' | 'already' | 'ignored';

/** Statuses a first use may be noted on (the grant exists or existed). */
const NOTED_ON: readonly Status[] = [...HOLDS_GRANT, 'REVOKED'];

/** The prefix of every session the broker mints (`jit-<requestId>`). */
const SESSION_PREFIX = 'jit-';

/** The request id a record's session names (`assumed-role/<role>/jit-<id>`), or undefined. */
export function sessionRequestId(event: Pick<ActivityEvent, 'userIdentity'>): string | undefined {
  const parts = event.userIdentity.arn ? splitArn(event.userIdentity.arn) : undefined;
  if (parts?.service !== 'sts') return undefined;
  const [type, , session] = parts.resource.split('/');
  if (type !== 'assumed-role' || !session?.startsWith(SESSION_PREFIX)) return undefined;
  return session.slice(SESSION_PREFIX.length) || undefined;
}

/** True when the record was made with the request's own session (its key or its `aws:userid`). */
function isSessionOf(request: AccessRequest, event: ActivityEvent): boolean {
  const session = request.session;
  if (request.kind !== 'credentials' || !session) return false;
  if (event.recipientAccountId !== principalOf(request).account) return false;
  if (session.accessKeyId && event.userIdentity.accessKeyId === session.accessKeyId) return true;
  return event.userIdentity.principalId === `${session.roleId}:${session.sessionName}`;
}

/** The note's details: when, what, from where, and how the broker learnt it. */
function noteDetails(event: ActivityEvent, via: 'eventbridge' | 'review'): Record<string, unknown> {
  return {
    event: 'FIRST_USED',
    at: event.eventTime,
    action: actionOf(event),
    eventId: event.eventId,
    via,
    ...(event.sourceIPAddress ? { sourceIp: event.sourceIPAddress } : {}),
    ...(event.userAgent ? { userAgent: event.userAgent } : {}),
  };
}

/**
 * Records the grant's first use once: a conditional note on the request (the version check makes two
 * concurrent writers agree: the second re-reads, finds `firstUsedAt` and stops). `requestId` given: the
 * caller already matched the record to that request (the review); absent: the session name says which
 * request, and the record must be that session's own (a record of an unknown or foreign session is ignored).
 */
export async function recordFirstUse(
  deps: Pick<Deps, 'store' | 'clock'>,
  event: ActivityEvent,
  requestId?: string,
): Promise<FirstUseOutcome> {
  const id = requestId ?? sessionRequestId(event);
  if (!id) return 'ignored';
  for (let attempt = 1; ; attempt++) {
    const request = await deps.store.get(id);
    if (!request) return 'ignored';
    if (requestId === undefined && !isSessionOf(request, event)) return 'ignored';
    if (request.firstUsedAt !== undefined) return 'already';
    if (!NOTED_ON.includes(request.status)) return 'ignored';
    try {
      await move(
        deps,
        request,
        request.status,
        'system:first-use',
        noteDetails(event, requestId === undefined ? 'eventbridge' : 'review'),
        {
          firstUsedAt: event.eventTime,
          ...(event.sourceIPAddress ? { firstUsedFrom: event.sourceIPAddress } : {}),
        },
      );
      return 'recorded';
    } catch (error) {
      if (!(error instanceof TransitionRefusedError) || attempt >= 5) throw error;
    }
  }
}
