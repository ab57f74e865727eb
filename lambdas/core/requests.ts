import { type ChainCheck, chainEvent, GENESIS_HASH, verifyChain } from './audit-chain.ts';
import { ConflictError, ForbiddenError, NotApproverError, SelfApprovalError } from './errors.ts';
import type { Status } from './lifecycle.ts';
import { type AccessRequest, type AuditEvent, type PublicRequest, toPublic } from './model.ts';
import { matches } from './patterns.ts';
import type { PolicyConfig, Rule } from './policy-config.ts';
import type { Deps } from './ports.ts';
import { load, move, withFreshRead } from './transition.ts';
import { validateRequest } from './validate-request.ts';

/** The rule a stored request was validated under (undefined if the config no longer has it). */
export function ruleOf(config: PolicyConfig, request: Pick<AccessRequest, 'ruleId'>): Rule | undefined {
  return config.rules.find((r) => r.id === request.ruleId);
}

/** True when `caller` is an approver of the rule. Auto-approved rules have no human approvers. */
export function isApprover(rule: Rule | undefined, caller: string): boolean {
  if (!rule || rule.approval === 'auto') return false;
  return rule.approval.approvers.some((p) => matches(p, caller));
}

/** Approvals a rule needs before access is granted (0 for auto-approval). */
export function requiredApprovals(rule: Rule | undefined): number {
  if (!rule) return Number.POSITIVE_INFINITY;
  return rule.approval === 'auto' ? 0 : rule.approval.minApprovals;
}

/**
 * The person behind a principal ARN: the session name of an assumed-role session (with IAM Identity
 * Center, the user name, identical across permission sets) or the IAM user name, case-insensitively. Two
 * ARNs of the same person — the requester in another role, an approver in two roles — are one person for
 * self-approval and quorum. (With plain AssumeRole the caller picks the session name: approver patterns
 * should name roles whose session names the identity provider sets.)
 */
export function personOf(principalArn: string): string {
  return principalArn.slice(principalArn.lastIndexOf('/') + 1).toLowerCase();
}

/** True when both ARNs are the same principal or the same person (see {@link personOf}). */
export function samePerson(a: string, b: string): boolean {
  return a === b || personOf(a) === personOf(b);
}

/** `POST /requests`: validates, records REQUESTED and starts the workflow named after the request id. */
export async function submitRequest(
  deps: Deps,
  caller: string,
  body: unknown,
): Promise<{ requestId: string; status: Status }> {
  const valid = validateRequest(body, caller, deps.config);
  const id = deps.ids.requestId();
  const at = deps.clock.now().toISOString();
  const event = chainEvent({
    requestId: id,
    seq: 1,
    from: null,
    to: 'REQUESTED',
    at,
    actor: caller,
    details: { ruleId: valid.rule.id },
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
    approvals: [],
    createdAt: at,
    updatedAt: at,
  };
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

/** `GET /requests/{id}`: the request and its events, for the requester and the rule's approvers only. */
export async function getRequest(
  deps: Pick<Deps, 'store' | 'config'>,
  caller: string,
  id: string,
): Promise<PublicRequest & { events: AuditEvent[]; integrity: ChainCheck }> {
  const request = await load(deps, id);
  if (request.requester !== caller && !isApprover(ruleOf(deps.config, request), caller)) {
    throw new ForbiddenError('only the requester and the approvers of its rule may read this request');
  }
  const events = await deps.store.events(id);
  return { ...toPublic(request), events, integrity: verifyChain(events, request) };
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
    if (samePerson(request.requester, caller)) {
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
      await deliver(deps, token, { decision: 'DENIED' });
      return { requestId: id, status: denied.status, approvals: request.approvals.length, required };
    }
    if (request.approvals.some((a) => samePerson(a.approver, caller))) {
      throw new ConflictError(
        'AlreadyVoted',
        'this approver has already approved; another approver is needed',
      );
    }
    const approvals = [...request.approvals, { approver: caller, at, ...(note ? { comment: note } : {}) }];
    const reached = new Set(approvals.map((a) => personOf(a.approver))).size >= required;
    const updated = await move(
      deps,
      request,
      reached ? 'APPROVED' : 'PENDING_APPROVAL',
      caller,
      { vote: 'approve', approvals: approvals.length, required, ...(note ? { comment: note } : {}) },
      reached ? { approvals, taskToken: null } : { approvals },
    );
    if (reached) await deliver(deps, token, { decision: 'APPROVED' });
    return { requestId: id, status: updated.status, approvals: approvals.length, required };
  });
}

/** Step Functions' answers for a token whose task is over (timed out, or already answered). */
const DEAD_TOKEN = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/**
 * Sends the decision to the waiting approval task. When the task is already over (the approval window
 * closed while this decision was being written), the caller is told so; the ApprovalExpired step closes
 * the request (an approval that never reached the workflow ends GRANT_FAILED, nothing granted).
 */
async function deliver(deps: Deps, token: string, output: Record<string, unknown>): Promise<void> {
  try {
    await deps.workflow.sendSuccess(token, output);
  } catch (error) {
    if (!DEAD_TOKEN.has((error as { name?: string })?.name ?? '')) throw error;
    throw new ConflictError(
      'ApprovalWindowClosed',
      'the approval window closed before this decision reached the workflow',
    );
  }
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
    const token = request.taskToken;
    const cancelled = await move(deps, request, 'CANCELLED', caller, {}, { taskToken: null });
    if (token) await deps.workflow.sendSuccess(token, { decision: 'CANCELLED' });
    return { status: cancelled.status };
  });
}
