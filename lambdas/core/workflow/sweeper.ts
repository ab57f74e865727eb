/**
 * The sweeper, the third layer that ends grants (after the IAM expiry condition and the workflow): it
 * finds requests that still hold a grant some time after their expiry — the workflow's revoke failed
 * (REVOKE_FAILED) or never ran — and revokes them with the same idempotent, verified revoke.
 */

import { move, withFreshRead } from '../audit/transition.ts';
import { BrokerError } from '../errors.ts';
import { isoSeconds, POLICY_PREFIX, policyName } from '../grants/policy-document.ts';
import { kindOf } from '../grants/registry.ts';
import type { StoredSession } from '../grants/sts-credentials/session-deny.ts';
import { ROLE_CHAINING_MAX_SECONDS } from '../grants/sts-credentials/sessions.ts';
import { deleteVerified } from '../grants/verified-iam.ts';
import { IN_FLIGHT, type Status } from '../lifecycle.ts';
import type { AccessRequest } from '../model.ts';
import { patternsInAccount, targetAccounts } from '../policy/accounts.ts';
import { isProtected } from '../policy/validate.ts';
import type { Deps, ExecutionStatus, PrincipalRef } from '../ports.ts';
import { isTargetOf } from '../principals.ts';
import { cleanupStep, compensateGrant, revokeGrant } from './steps.ts';

/** Actor of the sweeper's events. */
export const SWEEPER = 'system:sweeper';
/** Actor of the reconciler's events. */
export const RECONCILER = 'system:reconciler';

/** Options of one sweep. */
export interface SweepOptions {
  /**
   * Leave grants alone until this long after expiresAt, so the sweeper does not race the workflow's own
   * revoke (which runs at expiresAt and retries for a few minutes). @default 900
   */
  readonly graceSeconds?: number;
  /** At most this many grants (and as many in-flight requests) per sweep. @default 50 */
  readonly limit?: number;
  /**
   * Reconcile an in-flight request only once it has not changed for this long, so a request whose
   * execution is just being started is never mistaken for one whose execution is gone. @default 300
   */
  readonly reconcileAfterSeconds?: number;
}

/** What one sweep did. */
export interface SweepReport {
  readonly checked: number;
  readonly revoked: readonly string[];
  readonly failed: readonly { readonly requestId: string; readonly error: string }[];
}

/** Revokes every grant still held `graceSeconds` after its expiry. One failure does not stop the others. */
export async function sweepExpiredGrants(deps: Deps, opts: SweepOptions = {}): Promise<SweepReport> {
  // Same format as expiresAt (ISO to the second): the index compares the strings.
  const before = isoSeconds(new Date(deps.clock.now().getTime() - (opts.graceSeconds ?? 900) * 1000));
  const due = await deps.store.findExpiredGrants(before, opts.limit ?? 50);
  const revoked: string[] = [];
  const failed: { requestId: string; error: string }[] = [];
  for (const request of due) {
    try {
      const result = await revokeGrant(deps, request.id, SWEEPER, 'still held after expiry: swept');
      if (!result.alreadyRevoked) revoked.push(request.id);
    } catch (error) {
      if (!(error instanceof BrokerError) && !(error instanceof Error)) throw error;
      failed.push({ requestId: request.id, error: `${error.name}: ${error.message}` });
    }
  }
  return { checked: due.length, revoked, failed };
}

/** One inline policy the sweeper looked at and did not recognize as part of a live grant. */
export interface StrayPolicy {
  readonly principal: string;
  readonly policyName: string;
  /**
   * `removed`: it allowed something; `left`: deny-only (denying is never a standing privilege); `failed`:
   * it should go but could not (reported, retried next run).
   */
  readonly action: 'removed' | 'left' | 'failed';
  readonly reason: string;
}

/** Statuses in which a policy grant's Allow may legitimately be attached. */
const MAY_HOLD_ALLOW = new Set(['GRANTED', 'REVOKE_FAILED']);
/**
 * APPROVED with the policy already written is a grant in flight, but only for as long as the grant step
 * can run (retries included); after this, its execution is over and the policy is a leftover.
 */
const GRANT_IN_FLIGHT_SECONDS = 3600;

function allowsSomething(document: string | undefined): boolean {
  try {
    const doc = JSON.parse(document ?? '{}') as { Statement?: { Effect?: string }[] | { Effect?: string } };
    return [doc.Statement ?? []].flat().some((s) => s.Effect === 'Allow');
  } catch {
    return true; // unreadable: treat as the worst case
  }
}

/** Why an Allow-bearing `jit-*` policy on `principal` is not part of a live grant; undefined when it is. */
function strayReason(
  request: AccessRequest | undefined,
  principal: PrincipalRef,
  now: Date,
): string | undefined {
  if (!request) return 'no request with this id';
  if (!isTargetOf(request, principal)) return `belongs to ${request.target}`;
  if (!kindOf(request.kind).attachesAllow) return `${request.kind} grants never attach an Allow`;
  if (request.status === 'APPROVED') {
    const age = (now.getTime() - Date.parse(request.updatedAt)) / 1000;
    return age > GRANT_IN_FLIGHT_SECONDS ? `request is APPROVED since ${request.updatedAt}` : undefined;
  }
  if (!MAY_HOLD_ALLOW.has(request.status)) return `request is ${request.status}`;
  return undefined;
}

/** After this long past the last possible session expiry, a session deny is certainly no longer needed. */
const SESSION_DENY_GRACE_SECONDS = 300;

/**
 * A credentials request's session deny whose sessions have all expired but is still attached — the
 * workflow's cleanup step failed, or a failed grant's compensation left it — is removed (with the
 * `SESSION_DENY_REMOVED` note where the lifecycle allows one). Undefined when there is nothing to do.
 */
async function removeExpiredSessionDeny(
  deps: Deps,
  request: AccessRequest,
  principal: PrincipalRef & { readonly arn: string },
  name: string,
): Promise<Pick<StrayPolicy, 'action' | 'reason'> | undefined> {
  // Only kinds that attach no Allow leave deny-only policies of their own (a credentials grant's session deny).
  if (
    kindOf(request.kind).attachesAllow ||
    name !== policyName(request.id) ||
    !isTargetOf(request, principal)
  ) {
    return undefined;
  }
  const now = deps.clock.now().getTime();
  const deny = (request.session as StoredSession | undefined)?.deny;
  try {
    if (request.status === 'REVOKED' && deny && !deny.removedAt) {
      if (now < Date.parse(deny.removeAfter) + SESSION_DENY_GRACE_SECONDS * 1000) return undefined;
      await cleanupStep(deps, request.id);
      return {
        action: 'removed',
        reason: 'session deny past its credentials expiry (cleanup step did not run)',
      };
    }
    if (request.status === 'GRANT_FAILED') {
      const safeAfter =
        Date.parse(request.updatedAt) + (ROLE_CHAINING_MAX_SECONDS + SESSION_DENY_GRACE_SECONDS) * 1000;
      if (now < safeAfter) return undefined;
      await deleteVerified(deps.iam, principal, name, principal.arn);
      return { action: 'removed', reason: 'session deny of a failed grant, past any session it could end' };
    }
  } catch (error) {
    const e = error as Error;
    return { action: 'failed', reason: `session deny cleanup: ${e.name}: ${e.message}` };
  }
  return undefined;
}

/** One target account the sweeper could not sweep (its grantor could not be assumed, IAM refused a list…). */
export interface AccountFailure {
  readonly account: string;
  readonly error: string;
}

/** How many target accounts the sweeper walks at the same time. */
export const SWEEP_ACCOUNT_CONCURRENCY = 4;

/** Runs `work` on every item, at most `limit` at a time, in order of the items. */
async function inBatches<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The second half of the sweep: every `jit-*` inline policy on the config's target principals that allows
 * something and is not the policy of a live grant of a known request on that very principal — written by
 * hand, copied, or left behind — is removed and verified gone. Deny-only policies (session denies) are
 * reported but left. Protected principals are never touched. Every target account is walked, a bounded
 * number at a time; an account that cannot be walked is reported in `accountsFailed` and never stops the
 * others.
 */
export async function sweepAccounts(
  deps: Deps,
): Promise<{ strays: StrayPolicy[]; accountsFailed: AccountFailure[] }> {
  const strays: StrayPolicy[] = [];
  const accountsFailed: AccountFailure[] = [];
  await inBatches(targetAccounts(deps.config), SWEEP_ACCOUNT_CONCURRENCY, async (account) => {
    try {
      strays.push(...(await sweepAccount(deps, account)));
    } catch (error) {
      const e = error as Error;
      accountsFailed.push({ account, error: `${e.name}: ${e.message}` });
    }
  });
  return { strays, accountsFailed };
}

/** {@link sweepAccounts}, for callers that want only the strays: throws (after every account) if one failed. */
export async function sweepStrayPolicies(deps: Deps): Promise<StrayPolicy[]> {
  const { strays, accountsFailed } = await sweepAccounts(deps);
  if (accountsFailed.length > 0) {
    throw new Error(`could not sweep ${accountsFailed.map((f) => `${f.account} (${f.error})`).join(', ')}`);
  }
  return strays;
}

/** The stray-policy sweep of one account's principals. */
async function sweepAccount(deps: Deps, account: string): Promise<StrayPolicy[]> {
  const patterns = patternsInAccount([...new Set(deps.config.rules.flatMap((r) => r.targets))], account);
  if (patterns.length === 0) return [];
  const strays: StrayPolicy[] = [];
  for (const principal of await deps.iam.listPrincipals(patterns, account)) {
    if (isProtected(principal.arn, deps.config)) continue;
    for (const name of await deps.iam.listPolicies(principal)) {
      if (!name.startsWith(POLICY_PREFIX)) continue;
      const document = await deps.iam.getPolicy(principal, name);
      const request = await deps.store.get(name.slice(POLICY_PREFIX.length));
      if (!allowsSomething(document)) {
        if (!request) {
          strays.push({
            principal: principal.arn,
            policyName: name,
            action: 'left',
            reason: 'deny-only, no request',
          });
        } else {
          const done = await removeExpiredSessionDeny(deps, request, principal, name);
          if (done) strays.push({ principal: principal.arn, policyName: name, ...done });
        }
        continue;
      }
      const reason = strayReason(request, principal, deps.clock.now());
      if (!reason) continue;
      try {
        await deleteVerified(deps.iam, principal, name, principal.arn);
        strays.push({ principal: principal.arn, policyName: name, action: 'removed', reason });
      } catch (error) {
        // One stubborn policy must not stop the sweep of the others.
        const e = error as Error;
        strays.push({
          principal: principal.arn,
          policyName: name,
          action: 'failed',
          reason: `${reason}; ${e.name}: ${e.message}`,
        });
      }
    }
  }
  return strays;
}

/** One request the reconciler brought to an end because its execution was over. */
export interface Reconciled {
  readonly requestId: string;
  readonly from: Status;
  readonly to: Status;
  /** What Step Functions said of the execution (NOT_FOUND: it has none of that name). */
  readonly execution: ExecutionStatus;
}

/** Execution statuses after which nothing will move the request any more. */
const OVER: readonly ExecutionStatus[] = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'NOT_FOUND'];

/**
 * The reconciler: every request still in flight (REQUESTED, PENDING_APPROVAL, APPROVED, found through the
 * `openRequests` index) that has not changed for `reconcileAfterSeconds` and whose execution is over — it
 * was stopped, failed outside the workflow's catches, or is gone with a restarted local engine — is brought
 * to a consistent end: undecided requests are closed (REJECTED, APPROVAL_EXPIRED), an approved one is
 * compensated (whatever may have been written is removed) and recorded GRANT_FAILED. Each event names the
 * execution's status. One failure does not stop the others.
 */
export async function reconcileInFlight(
  deps: Deps,
  opts: SweepOptions = {},
): Promise<{ reconciled: Reconciled[]; failed: SweepReport['failed'] }> {
  const before = new Date(deps.clock.now().getTime() - (opts.reconcileAfterSeconds ?? 300) * 1000);
  const open = await deps.store.findInFlight(before.toISOString(), opts.limit ?? 50);
  const reconciled: Reconciled[] = [];
  const failed: { requestId: string; error: string }[] = [];
  for (const request of open) {
    try {
      const execution = await deps.workflow.status(request.id);
      if (!OVER.includes(execution)) continue;
      const to = await closeInFlight(deps, request.id, execution);
      if (to) reconciled.push({ requestId: request.id, from: request.status, to, execution });
    } catch (error) {
      const e = error as Error;
      failed.push({ requestId: request.id, error: `${e.name}: ${e.message}` });
    }
  }
  return { reconciled, failed };
}

/** Ends one in-flight request whose execution is over; the status it ended in, or undefined if it had moved on. */
async function closeInFlight(
  deps: Deps,
  id: string,
  execution: ExecutionStatus,
): Promise<Status | undefined> {
  const reason = (status: Status) =>
    `the workflow execution is over (${execution}) while the request was ${status}`;
  const current = await deps.store.get(id);
  if (!current || !IN_FLIGHT.includes(current.status)) return undefined;
  if (current.status === 'APPROVED') {
    // It may have been written already (a grant step cut off mid-way): remove it, then GRANT_FAILED.
    const { status } = await compensateGrant(deps, id, {
      Error: 'WorkflowEnded',
      Cause: reason('APPROVED'),
    });
    return status;
  }
  return withFreshRead(deps, id, async (request) => {
    const why = { reason: reason(request.status), execution };
    if (request.status === 'REQUESTED') {
      return (await move(deps, request, 'REJECTED', RECONCILER, { code: 'WorkflowEnded', ...why })).status;
    }
    if (request.status === 'PENDING_APPROVAL') {
      const expired = await move(deps, request, 'APPROVAL_EXPIRED', RECONCILER, why, { taskToken: null });
      return expired.status;
    }
    return undefined; // moved on meanwhile (decided, cancelled, granted): the workflow or a caller has it
  });
}

/** One full sweep: expired grants first, then requests whose execution is over, then stray policies. */
export async function runSweep(
  deps: Deps,
  opts: SweepOptions = {},
): Promise<
  SweepReport & {
    readonly strays: StrayPolicy[];
    readonly reconciled: Reconciled[];
    /** Target accounts that could not be walked for stray policies (the others were). */
    readonly accountsFailed: AccountFailure[];
  }
> {
  const report = await sweepExpiredGrants(deps, opts);
  const reconcile = await reconcileInFlight(deps, opts);
  const { strays, accountsFailed } = await sweepAccounts(deps);
  return {
    ...report,
    failed: [...report.failed, ...reconcile.failed],
    reconciled: reconcile.reconciled,
    strays,
    accountsFailed,
  };
}
