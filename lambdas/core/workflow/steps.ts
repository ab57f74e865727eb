import { reviewPassTimes, usableUntilOf } from '../audit/review.ts';
import { load, move, withFreshRead } from '../audit/transition.ts';
import {
  BrokerError,
  ConflictError,
  ExtensionLapsedError,
  ForbiddenError,
  GrantorUnavailableError,
  NotEligibleError,
} from '../errors.ts';
import type { GrantFailure } from '../grants/kind.ts';
import { kindOf } from '../grants/registry.ts';
import { HOLDS_GRANT, type Status } from '../lifecycle.ts';
import type { AccessRequest, RequestPatch, RevokeResult } from '../model.ts';
import { isProtected, validateRequest } from '../policy/validate.ts';
import type { Deps } from '../ports.ts';
import { isBreakGlassReviewer } from '../requests/access.ts';
import { announceAndNote } from '../requests/break-glass.ts';
import { closeUndelivered, isApprover, ruleOf, withdraw } from '../requests/requests.ts';

/** Actor names of the broker's own steps in the audit log. */
export const SYSTEM = {
  validate: 'system:validate',
  autoApproval: 'system:auto-approval',
  approvalWindow: 'system:approval-window',
  grant: 'system:grant',
  expiry: 'system:expiry',
  compensation: 'system:compensation',
  sessionCleanup: 'system:session-cleanup',
} as const;

/** What the Validate step tells the state machine's first Choice. */
export type ValidateOutcome = 'APPROVAL_REQUIRED' | 'AUTO_APPROVED' | 'REJECTED' | 'CLOSED';

/**
 * Validate step: re-checks the stored request against the config in force now (it may have changed since
 * the API accepted it). Records REJECTED, or APPROVED for auto-approval rules; otherwise leaves REQUESTED
 * for the approval step.
 */
export async function validateStep(deps: Deps, requestId: string): Promise<{ outcome: ValidateOutcome }> {
  // A fresh read on every refusal: a cancel landing between our read and our write ends the request, and
  // the next read sees it closed (the Closed path), instead of failing the execution.
  return withFreshRead(deps, requestId, async (request) => {
    if (request.status !== 'REQUESTED') return { outcome: 'CLOSED' };
    let ruleId: string;
    let auto: boolean;
    try {
      const body = {
        kind: request.kind,
        target: request.target,
        permissions: request.permissions,
        durationSeconds: request.durationSeconds,
        reason: request.reason,
        ...(request.ticket === undefined ? {} : { ticket: request.ticket }),
        ...(request.breakGlass
          ? { incident: request.breakGlass.incident, reasonCode: request.reasonCode }
          : {}),
      };
      // An extension is re-validated by its parent's rule, and only while the parent's grant lasts.
      const valid = validateRequest(
        body,
        request.requester,
        deps.config,
        request.extends ? { ruleId: request.ruleId } : {},
      );
      if (request.extends) await assertParentLive(deps, request);
      ruleId = valid.rule.id;
      auto =
        valid.rule.approval === 'auto' || (!!request.extends && valid.rule.extension.approval === 'auto');
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      await move(deps, request, 'REJECTED', SYSTEM.validate, {
        code: error.code,
        message: error.message,
        ...(error.details ? { issues: error.details } : {}),
      });
      return { outcome: 'REJECTED' };
    }
    if (ruleId !== request.ruleId) {
      // The config changed under the request; approval rights follow the rule it was accepted under.
      await move(deps, request, 'REJECTED', SYSTEM.validate, { code: 'RuleChanged', ruleId });
      return { outcome: 'REJECTED' };
    }
    if (!auto) return { outcome: 'APPROVAL_REQUIRED' };
    await move(deps, request, 'APPROVED', SYSTEM.autoApproval, { ruleId });
    return { outcome: 'AUTO_APPROVED' };
  });
}

/**
 * Throws ExtensionLapsedError unless the grant `request` extends is still GRANTED and unexpired: an extension
 * decided too late changes nothing, the parent ends on its own schedule.
 */
async function assertParentLive(deps: Pick<Deps, 'store' | 'clock'>, request: AccessRequest): Promise<void> {
  if (!request.extends) return;
  const parent = await deps.store.get(request.extends);
  const ends = Date.parse(parent?.expiresAt ?? '');
  if (parent?.status !== 'GRANTED' || !(ends > deps.clock.now().getTime())) {
    throw new ExtensionLapsedError(
      `the grant ${request.extends} this request extends has ended (${parent?.status ?? 'missing'}); request access anew`,
    );
  }
}

/**
 * An extension's window, shortened so the chain ends by its `chainEndsBy` (2 × the rule's maximum after
 * the first grant); the request as is otherwise.
 */
function withinChain(deps: Pick<Deps, 'clock'>, request: AccessRequest): AccessRequest {
  if (!request.chainEndsBy) return request;
  const room = Math.floor((Date.parse(request.chainEndsBy) - deps.clock.now().getTime()) / 1000);
  if (room <= 0) throw new ExtensionLapsedError(`the chain's lifetime ended at ${request.chainEndsBy}`);
  return room < request.durationSeconds ? { ...request, durationSeconds: room } : request;
}

/**
 * AwaitApproval step (`waitForTaskToken`): keeps the token on the request item and records PENDING_APPROVAL.
 */
export async function awaitApprovalStep(deps: Deps, requestId: string, taskToken: string): Promise<void> {
  const pending = await withFreshRead(deps, requestId, async (request) => {
    if (request.status === 'PENDING_APPROVAL' && request.taskToken === taskToken) {
      // A retried invoke: the first may have died before telling the approvers (posting is idempotent).
      return request;
    }
    if (request.status !== 'REQUESTED') {
      // Cancelled before this step ran: fail the task so the workflow ends now (Closed) instead of waiting.
      throw new ConflictError('NotPending', `request is ${request.status}; there is nothing to approve`);
    }
    const rule = ruleOf(deps.config, request);
    return move(
      deps,
      request,
      'PENDING_APPROVAL',
      SYSTEM.approvalWindow,
      {
        approvalWindowSeconds: deps.config.approvalWindowSeconds,
        requiredApprovals: rule && rule.approval !== 'auto' ? rule.approval.minApprovals : 0,
      },
      { taskToken },
    );
  });
  await deps.approvals.requestPending(pending);
}

/** ApprovalExpired step: the approval window timed out. Records APPROVAL_EXPIRED if still pending. */
export async function expireApprovalStep(deps: Deps, requestId: string): Promise<{ status: Status }> {
  return withFreshRead(deps, requestId, async (request) => {
    if (request.status === 'APPROVED' && !request.expiresAt) {
      // An approval was written just as the window closed, but its callback could not reach the task (it
      // had timed out): no workflow will grant it. Close it so it does not look approved-and-pending.
      return { status: (await closeUndelivered(deps, request)).status };
    }
    if (request.status !== 'PENDING_APPROVAL') return { status: request.status };
    const expired = await move(
      deps,
      request,
      'APPROVAL_EXPIRED',
      SYSTEM.approvalWindow,
      {},
      { taskToken: null },
    );
    return { status: expired.status };
  });
}

/**
 * Grant step: the request's kind puts the grant in place (with the IAM-level expiry) and proves it; the
 * step records GRANTED with expiresAt. A retried invoke of an already granted request returns the same
 * expiry.
 */
export async function grantStep(
  deps: Deps,
  requestId: string,
): Promise<{ requestId: string; expiresAt: string; alertFailures?: string[] }> {
  const request = await load(deps, requestId);
  if (request.status === 'GRANTED' && request.expiresAt) return { requestId, expiresAt: request.expiresAt };
  if (request.status !== 'APPROVED')
    throw new ConflictError('NotPending', `request is ${request.status}, not APPROVED`);
  if (isProtected(request.target, deps.config)) {
    throw new NotEligibleError(`target ${request.target} is a protected principal`);
  }
  await assertParentLive(deps, request);
  const granted = await kindOf(request.kind).grant(deps, withinChain(deps, request));
  const after = await move(deps, request, 'GRANTED', SYSTEM.grant, granted.details, granted.patch);
  if (!after.breakGlass) return { requestId, expiresAt: granted.expiresAt };
  // Break-glass is loud: announced right after the grant (never before it: no Slack on its way in).
  const alertFailures = await announceAndNote(deps, after);
  return { requestId, expiresAt: granted.expiresAt, ...(alertFailures.length ? { alertFailures } : {}) };
}

/**
 * Ends a grant (the request's kind removes it and proves it) and records REVOKED. Idempotent: an already
 * revoked request is a no-op, so the workflow's final Revoke after an early revoke writes nothing.
 */
export async function revokeGrant(
  deps: Deps,
  requestId: string,
  actor: string,
  reason: string,
): Promise<RevokeResult> {
  return withFreshRead(deps, requestId, async (request) => {
    const kind = kindOf(request.kind);
    const base = { requestId, kind: request.kind };
    if (request.status === 'REVOKED') {
      return { ...base, status: request.status, alreadyRevoked: true, cleanupAt: kind.cleanupAt(request) };
    }
    if (!HOLDS_GRANT.includes(request.status)) {
      throw new ConflictError('NotGranted', `request is ${request.status}; nothing to revoke`);
    }
    const done = await kind.revoke(deps, request);
    const revoked = await move(
      deps,
      request,
      'REVOKED',
      actor,
      { reason, ...done.details },
      {
        ...done.patch,
        ...afterRevoke(deps, request),
      },
    );
    return { ...base, status: revoked.status, alreadyRevoked: false, cleanupAt: kind.cleanupAt(revoked) };
  });
}

/**
 * What the revoke schedules: the audit review's first pass (once CloudTrail has delivered the grant's last
 * calls) and, for break-glass, the deadline of its human reviews.
 */
function afterRevoke(deps: Deps, request: AccessRequest): RequestPatch {
  const now = deps.clock.now().toISOString();
  const review = reviewPassTimes(deps.config, usableUntilOf(request, now)).first;
  const bg = request.breakGlass;
  if (!bg) return { followUpAt: review };
  const hours = deps.config.breakGlass?.reviewOverdueHours ?? 24;
  const reviewDueBy = new Date(Date.parse(now) + hours * 3_600_000).toISOString();
  return {
    followUpAt: review < reviewDueBy ? review : reviewDueBy,
    breakGlass: { ...bg, reviewDueBy },
  };
}

/**
 * Cleanup step after revoke (credentials: once the STS credentials have expired, the session deny goes).
 * Records the note `REVOKED → REVOKED` with what the kind did; nothing to do is `{removed: false}`.
 */
export async function cleanupStep(deps: Deps, requestId: string): Promise<{ removed: boolean }> {
  return withFreshRead(deps, requestId, async (request) => {
    const kind = kindOf(request.kind);
    if (request.status !== 'REVOKED' || kind.cleanupAt(request) === null) return { removed: false };
    const done = await kind.cleanup(deps, request);
    await move(deps, request, 'REVOKED', SYSTEM.sessionCleanup, done.details, done.patch);
    return { removed: done.removed };
  });
}

/**
 * `POST /requests/{id}/revoke`: the requester or an approver ends a grant early. The caller's rights and
 * the status are checked here; the IAM work is handed to the revoke function (`deps.revocations`), so the
 * function behind the public API holds no IAM or STS permission. The revoke is idempotent either way.
 */
export async function revokeEarly(
  deps: Deps,
  caller: string,
  requestId: string,
  reason?: string,
): Promise<RevokeResult> {
  const request = await load(deps, requestId);
  const reviewer = request.breakGlass !== undefined && isBreakGlassReviewer(deps.config, caller);
  if (request.requester !== caller && !isApprover(ruleOf(deps.config, request), caller) && !reviewer) {
    throw new ForbiddenError('only the requester and the approvers of its rule may revoke this request');
  }
  if (request.status !== 'REVOKED' && !HOLDS_GRANT.includes(request.status)) {
    throw new ConflictError('NotGranted', `request is ${request.status}; nothing to revoke`);
  }
  const result = await deps.revocations.revoke(requestId, caller, reason ?? 'early revoke');
  await endExtensions(deps, (await load(deps, requestId)).extendedBy, caller, requestId);
  return result;
}

/**
 * An early revoke ends the whole chain: the extension asked for the grant (and its own extension, and so
 * on) is revoked when granted, withdrawn while it waits for approval. One approved but not yet granted
 * fails at its Grant step (the grant it extends has ended). Expiry does not come here: an extension exists
 * to outlive its parent's expiry.
 */
async function endExtensions(
  deps: Deps,
  childId: string | undefined,
  actor: string,
  parentId: string,
): Promise<void> {
  const reason = `the grant it extends (${parentId}) was revoked early`;
  for (let id = childId, depth = 0; id && depth < 20; depth++) {
    const current = id;
    const child = await withFreshRead(deps, current, async (request) => {
      if (request.status === 'REQUESTED' || request.status === 'PENDING_APPROVAL') {
        return withdraw(deps, request, actor, { reason });
      }
      return request;
    });
    if (HOLDS_GRANT.includes(child.status)) await deps.revocations.revoke(current, actor, reason);
    id = child.extendedBy;
  }
}

/** Compensation after a failed grant: the kind removes whatever may have been written; records GRANT_FAILED. */
export async function compensateGrant(
  deps: Deps,
  requestId: string,
  error: unknown,
): Promise<{ status: Status }> {
  if ((await load(deps, requestId)).status === 'GRANTED') {
    // The grant was recorded, then the invocation failed (a timeout after the write): the workflow will not
    // reach its own Revoke, so end the grant now rather than leave it to the IAM expiry and the sweeper.
    const revoked = await revokeGrant(
      deps,
      requestId,
      SYSTEM.compensation,
      'the grant step failed after recording GRANTED',
    );
    return { status: revoked.status };
  }
  return withFreshRead(deps, requestId, async (request) => {
    if (request.status === 'GRANT_FAILED') return { status: request.status };
    if (request.status !== 'APPROVED') {
      throw new ConflictError(
        'NotGranted',
        `request is ${request.status}; compensation applies to APPROVED only`,
      );
    }
    const failure = describeError(error);
    const done = await compensateKind(deps, request, failure);
    const failed = await move(
      deps,
      request,
      'GRANT_FAILED',
      SYSTEM.compensation,
      { error: failure, ...done.details },
      done.patch,
    );
    return { status: failed.status };
  });
}

/** What a grant left behind when even its account's grantor could not be assumed. */
export const NOTHING_ATTACHED = 'nothing attached: the grantor could not be assumed';

/**
 * The kind's compensation, except when the grant failed because the target account's grantor could not be
 * assumed and compensating fails the same way: no IAM call reached that account, so nothing was attached,
 * and the request is recorded GRANT_FAILED instead of failing the compensation too. (Should the account come
 * back with a policy after all, its expiry condition and the sweeper still end it.)
 */
async function compensateKind(
  deps: Deps,
  request: AccessRequest,
  failure: GrantFailure,
): Promise<{ details: Record<string, unknown>; patch?: RequestPatch }> {
  if (failure.error === 'ExtensionLapsedError') {
    // Refused before any IAM or STS call: nothing was attached or issued.
    return { details: { compensation: 'nothing attached: the grant it extends had ended' } };
  }
  try {
    return await kindOf(request.kind).compensate(deps, request, failure);
  } catch (error) {
    if (error instanceof GrantorUnavailableError && failure.error === error.name) {
      return { details: { compensation: NOTHING_ATTACHED } };
    }
    throw error;
  }
}

/** Revoke retries exhausted: records REVOKE_FAILED (the sweeper finishes the job; IAM expiry still holds). */
export async function markRevokeFailed(
  deps: Deps,
  requestId: string,
  error: unknown,
): Promise<{ status: Status }> {
  return withFreshRead(deps, requestId, async (request) => {
    if (request.status !== 'GRANTED') return { status: request.status };
    const failed = await move(deps, request, 'REVOKE_FAILED', SYSTEM.expiry, { error: describeError(error) });
    return { status: failed.status };
  });
}

/** Step Functions hands errors over as `{Error, Cause}`; keep them short and free of stack traces. */
function describeError(error: unknown): GrantFailure {
  if (error && typeof error === 'object') {
    const e = error as { Error?: unknown; Cause?: unknown; name?: unknown; message?: unknown };
    let cause = e.Cause ?? e.message;
    if (typeof cause === 'string') {
      try {
        const parsed = JSON.parse(cause) as { errorMessage?: string };
        cause = parsed.errorMessage ?? cause;
      } catch {
        // Cause was plain text.
      }
    }
    return { error: String(e.Error ?? e.name ?? 'Error'), cause: String(cause ?? '').slice(0, 500) };
  }
  return { error: 'Error', cause: String(error).slice(0, 500) };
}
