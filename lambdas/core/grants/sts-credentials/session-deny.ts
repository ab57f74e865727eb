/**
 * How a credentials grant is ended before its STS credentials expire: a deny-all inline policy aimed at
 * exactly that session (`aws:userid`), or, when the role has no room left, one shared policy denying the
 * role's JIT sessions issued before now.
 */

import { PolicyLimitError } from '../../errors.ts';
import type { AccessRequest, IssuedSession } from '../../model.ts';
import type { IamGrants } from '../../ports.ts';
import { type PrincipalRef, principalOf } from '../../principals.ts';
import type { GrantPorts } from '../kind.ts';
import { isoSeconds, POLICY_PREFIX, policyName } from '../policy-document.ts';
import { putVerified } from '../verified-iam.ts';
import {
  OLDER_SESSIONS_POLICY,
  olderSessionsDenyPolicy,
  ROLE_CHAINING_MAX_SECONDS,
  SESSION_DENY_SID,
  sessionDenyPolicy,
  sessionName,
} from './sessions.ts';

/** The session-deny policy a revoked credentials grant left on the role, and when it may go. */
export interface SessionDeny {
  readonly policyName: string;
  /** `session`: denies exactly this session; `older-sessions`: the shared TokenIssueTime fallback. */
  readonly method: 'session' | 'older-sessions';
  /** The fallback's TokenIssueTime bound (only for `older-sessions`). */
  readonly before?: string;
  /** The deny may be removed from this time on (every session it ends has expired). */
  readonly removeAfter: string;
  readonly removedAt?: string;
}

/** The session of a credentials request as stored, with its deny once revoked. */
export type StoredSession = IssuedSession & { readonly deny?: SessionDeny };

/** Credentials targets are always roles (validation refuses users). */
export function roleOf(request: Pick<AccessRequest, 'target'>): PrincipalRef {
  return principalOf({ target: request.target, targetType: 'role' });
}

/**
 * Ends the request's session now: a deny-all inline policy named `jit-<id>` conditioned on the session's
 * `aws:userid`, verified by read-back. When the role has no room left, falls back to one shared policy that
 * denies every JIT session of the role issued before now. Returns the deny to record.
 */
export async function denySession(ports: GrantPorts, request: AccessRequest): Promise<SessionDeny> {
  const target = roleOf(request);
  const stored = request.session as StoredSession | undefined;
  const roleId = stored?.roleId ?? (await ports.iam.getRoleId(target));
  const name = stored?.sessionName ?? sessionName(request.id);
  const now = ports.clock.now();
  const credentialsEnd =
    Date.parse(stored?.credentialsExpireAt ?? '') || now.getTime() + ROLE_CHAINING_MAX_SECONDS * 1000;
  const own = policyName(request.id);
  const document = JSON.stringify(sessionDenyPolicy(roleId, name));
  try {
    await putVerified(ports.iam, target, own, document, request.target);
    return { policyName: own, method: 'session', removeAfter: isoSeconds(new Date(credentialsEnd + 1000)) };
  } catch (error) {
    if (!(error instanceof PolicyLimitError)) throw error;
  }
  const before = isoSeconds(new Date(now.getTime() + 1000));
  const fallback = JSON.stringify(olderSessionsDenyPolicy(roleId, before));
  try {
    await putVerified(ports.iam, target, OLDER_SESSIONS_POLICY, fallback, request.target);
  } catch (error) {
    if (!(error instanceof PolicyLimitError)) throw error;
    // Still no room: the fallback subsumes every earlier JIT session deny on the role (all those
    // sessions were issued before `before`), so those make room for it.
    for (const name of await subsumedSessionDenies(ports.iam, target))
      await ports.iam.deletePolicy(target, name);
    await putVerified(ports.iam, target, OLDER_SESSIONS_POLICY, fallback, request.target);
  }
  // Every JIT session issued before `before` has expired one role-chaining maximum later.
  const removeAfter = isoSeconds(new Date(Date.parse(before) + ROLE_CHAINING_MAX_SECONDS * 1000 + 1000));
  return { policyName: OLDER_SESSIONS_POLICY, method: 'older-sessions', before, removeAfter };
}

/** The role's per-session deny policies (`jit-<id>` whose statement is the session deny). */
async function subsumedSessionDenies(iam: IamGrants, target: PrincipalRef): Promise<string[]> {
  const names = (await iam.listPolicies(target)).filter(
    (n) => n.startsWith(POLICY_PREFIX) && n !== OLDER_SESSIONS_POLICY,
  );
  const denies: string[] = [];
  for (const name of names) {
    const doc = await iam.getPolicy(target, name);
    if (
      doc &&
      (JSON.parse(doc) as { Statement?: { Sid?: string }[] }).Statement?.[0]?.Sid === SESSION_DENY_SID
    ) {
      denies.push(name);
    }
  }
  return denies;
}
