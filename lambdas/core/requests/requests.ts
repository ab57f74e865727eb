import { type ChainCheck, chainEvent, GENESIS_HASH, verifyChain } from '../audit/chain.ts';
import { load, move, withFreshRead } from '../audit/transition.ts';
import {
  ConflictError,
  ForbiddenError,
  NotApproverError,
  SelfApprovalError,
  TaskClosedError,
} from '../errors.ts';
import type { Status } from '../lifecycle.ts';
import { type AccessRequest, type AuditEvent, type PublicRequest, toPublic } from '../model.ts';
import { distinctPeople, samePerson } from '../policy/people.ts';
import { type ValidatedRequest, validateRequest } from '../policy/validate.ts';
import type { Deps } from '../ports.ts';
import { isApprover, mayRead, requiredApprovals, ruleOf } from './access.ts';
import { assertBreakGlassAllowed } from './break-glass.ts';

/** Who is who (self-approval, quorum) lives in people.ts; `personOf` stays importable from here. */
export { personOf } from '../policy/people.ts';
export { isApprover, requiredApprovals, ruleOf } from './access.ts';

/** `POST /requests`: validates, records REQUESTED and starts the workflow named after the request id. */
export async function submitRequest(
  deps: Deps,
  caller: string,
  body: unknown,
): Promise<{ requestId: string; status: Status }> {
  const valid = validateRequest(body, caller, deps.config);
  if (valid.breakGlass) await assertBreakGlassAllowed(deps, caller);
  const { request, event } = newRequest(deps, caller, valid);
  const id = request.id;
  await deps.store.create(request, event);
  try {
    await deps.workflow.start(id);
  } catch (error) {
    // Nothing was granted; close the request so it does not sit in REQUESTED forever.
    await move(deps, request, 'REJECTED', 'system:broker', { reason: 'the workflow could not be started' });
    throw error;
  }
  return { requestId: id, status: 'REQUESTED' };
}

/**
 * A REQUESTED request item and its first event, from a validated request. `extra` adds fields to the item
 * and to the event's details (an extension's link to its parent).
 */
export function newRequest(
  deps: Pick<Deps, 'ids' | 'clock'>,
  caller: string,
  valid: ValidatedRequest,
  extra: { readonly fields?: Partial<AccessRequest>; readonly details?: Record<string, unknown> } = {},
): { request: AccessRequest; event: AuditEvent } {
  const id = deps.ids.requestId();
  const at = deps.clock.now().toISOString();
  const event = chainEvent({
    requestId: id,
    seq: 1,
    from: null,
    to: 'REQUESTED',
    at,
    actor: caller,
    details: {
      ruleId: valid.rule.id,
      ...(valid.breakGlass ? { breakGlass: true, ...valid.breakGlass } : {}),
      ...extra.details,
    },
    prevHash: GENESIS_HASH,
  });
  const request: AccessRequest = {
    id,
    status: 'REQUESTED',
    version: 1,
    lastHash: event.hash,
    requester: caller,
    target: valid.target,
    targetType: valid.targetType,
    kind: valid.kind,
    ruleId: valid.rule.id,
    permissions: valid.permissions,
    durationSeconds: valid.durationSeconds,
    reason: valid.reason,
    ...(valid.ticket === undefined ? {} : { ticket: valid.ticket }),
    ...(valid.breakGlass
      ? {
          reasonCode: valid.breakGlass.reasonCode,
          breakGlass: { incident: valid.breakGlass.incident, reviews: [] },
        }
      : {}),
    approvals: [],
    createdAt: at,
    updatedAt: at,
    ...extra.fields,
  };
  return { request, event };
}

/** `GET /requests/{id}`: the request and its events, for the requester and the rule's approvers only. */
export async function getRequest(
  deps: Pick<Deps, 'store' | 'config'>,
  caller: string,
  id: string,
): Promise<PublicRequest & { events: AuditEvent[]; integrity: ChainCheck }> {
  const first = await load(deps, id);
  if (!mayRead(deps.config, first, caller)) {
    throw new ForbiddenError(
      'only the requester, the approvers of its rule and the auditors may read this request',
    );
  }
  const { request, events } = await consistentRead(deps, first);
  return { ...toPublic(request), events, integrity: verifyChain(events, request) };
}

/**
 * The item and its events as of one moment. They are two reads, so a status change landing between them
 * would look like tampering (events the item does not expect). Every change bumps the item's version, so
 * the pair is consistent when the version is the same before and after the events were read; otherwise
 * read again. A log that disagrees with a stable item is reported as it is.
 */
async function consistentRead(
  deps: Pick<Deps, 'store'>,
  first: AccessRequest,
  tries = 5,
): Promise<{ request: AccessRequest; events: AuditEvent[] }> {
  let request = first;
  for (let i = 1; ; i++) {
    const events = await deps.store.events(request.id);
    const after = await load(deps, request.id);
    if (after.version === request.version || i >= tries) return { request: after, events };
    request = after;
  }
}

/** Result of an approval decision. */
export interface DecisionResult {
  readonly requestId: string;
  readonly status: Status;
  readonly approvals: number;
  readonly required: number;
}

/**
 * `POST /requests/{id}/approve|deny`. The approver is the authenticated caller. A vote is refused from the
 * requester, from anyone not an approver of the rule, twice from the same approver, and once the request
 * is no longer pending. The callback token is sent exactly once: by the write that decided the request.
 */
export async function decide(
  deps: Deps,
  caller: string,
  id: string,
  decision: 'approve' | 'deny',
  note?: string,
): Promise<DecisionResult> {
  return withFreshRead(deps, id, async (request) => {
    const rule = ruleOf(deps.config, request);
    if (samePerson(deps.config, request.requester, caller)) {
      throw new SelfApprovalError('the requester cannot decide on their own request');
    }
    if (!isApprover(rule, caller))
      throw new NotApproverError("caller is not an approver of this request's rule");
    if (request.status !== 'PENDING_APPROVAL' || !request.taskToken) {
      throw new ConflictError('NotPending', `request is ${request.status}, not PENDING_APPROVAL`);
    }
    const token = request.taskToken;
    const required = requiredApprovals(rule);
    const at = deps.clock.now().toISOString();
    if (decision === 'deny') {
      const denied = await move(deps, request, 'DENIED', caller, { reason: note ?? '' }, { taskToken: null });
      await deliver(deps, denied, token, { decision: 'DENIED' });
      return { requestId: id, status: denied.status, approvals: request.approvals.length, required };
    }
    if (request.approvals.some((a) => samePerson(deps.config, a.approver, caller))) {
      throw new ConflictError(
        'AlreadyVoted',
        'this approver has already approved; another approver is needed',
      );
    }
    const approvals = [...request.approvals, { approver: caller, at, ...(note ? { comment: note } : {}) }];
    const voters = approvals.map((a) => a.approver);
    const reached = distinctPeople(deps.config, voters) >= required;
    const updated = await move(
      deps,
      request,
      reached ? 'APPROVED' : 'PENDING_APPROVAL',
      caller,
      { vote: 'approve', approvals: approvals.length, required, ...(note ? { comment: note } : {}) },
      reached ? { approvals, taskToken: null } : { approvals },
    );
    if (reached) await deliver(deps, updated, token, { decision: 'APPROVED' });
    return { requestId: id, status: updated.status, approvals: approvals.length, required };
  });
}

/**
 * Sends the decision to the waiting approval task. When the workflow no longer waits for it (the approval
 * window closed while this decision was being written, or the execution was stopped), the record must not
 * say "approved" with nothing behind it: an approval is closed GRANT_FAILED (nothing granted) by this same
 * call, a denial stays DENIED, and the caller gets 409 ApprovalWindowClosed either way.
 */
async function deliver(
  deps: Deps,
  decided: AccessRequest,
  token: string,
  output: Record<string, unknown>,
): Promise<void> {
  try {
    await deps.workflow.sendSuccess(token, output);
  } catch (error) {
    if (!(error instanceof TaskClosedError)) throw error;
    if (decided.status === 'APPROVED') {
      await withFreshRead(deps, decided.id, async (request) => {
        if (request.status === 'APPROVED' && !request.expiresAt)
          await closeUndelivered(deps, request, error.message);
      });
    }
    throw new ConflictError(
      'ApprovalWindowClosed',
      'the approval window closed (or the workflow ended) before this decision reached it; nothing was granted',
    );
  }
}

/**
 * An approval the workflow never heard of: APPROVED → GRANT_FAILED, nothing granted. The decision call,
 * the ApprovalExpired step and the reconciler all close this case; the first write wins.
 */
export async function closeUndelivered(
  deps: Pick<Deps, 'store' | 'clock'>,
  request: AccessRequest,
  cause?: string,
): Promise<AccessRequest> {
  return move(deps, request, 'GRANT_FAILED', 'system:approval-window', {
    reason: 'the approval arrived after the approval window closed; nothing was granted',
    ...(cause ? { cause: cause.slice(0, 300) } : {}),
  });
}

/** `POST /requests/{id}/cancel`: the requester withdraws a request that has not been decided yet. */
export async function cancelRequest(deps: Deps, caller: string, id: string): Promise<{ status: Status }> {
  return withFreshRead(deps, id, async (request) => {
    if (request.requester !== caller) throw new ForbiddenError('only the requester can cancel a request');
    if (request.status !== 'REQUESTED' && request.status !== 'PENDING_APPROVAL') {
      throw new ConflictError(
        'NotCancellable',
        `request is ${request.status}; only undecided requests can be cancelled`,
      );
    }
    return { status: (await withdraw(deps, request, caller, {})).status };
  });
}

/**
 * Ends an undecided request (REQUESTED or PENDING_APPROVAL) as CANCELLED and tells its waiting workflow.
 * The caller has checked who may; a refused write (a concurrent change) is the caller's to retry.
 */
export async function withdraw(
  deps: Deps,
  request: AccessRequest,
  actor: string,
  details: Record<string, unknown>,
): Promise<AccessRequest> {
  const token = request.taskToken;
  const cancelled = await move(deps, request, 'CANCELLED', actor, details, { taskToken: null });
  // A workflow that no longer waits (window closed, execution stopped) has nothing left to end: the
  // request is CANCELLED either way, so the caller is told so, never a 500.
  if (token) await deps.workflow.sendSuccess(token, { decision: 'CANCELLED' }).catch(ignoreClosed);
  return cancelled;
}

function ignoreClosed(error: unknown): void {
  if (!(error instanceof TaskClosedError)) throw error;
}
