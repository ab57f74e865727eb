/**
 * Credentials grants: STS session credentials on the target role, scoped by a session policy that carries
 * the same expiry condition as an inline grant, collected once by the requester, and ended at revoke by a
 * deny policy aimed at exactly that session (`aws:userid`), which is removed once the credentials expired.
 */

import { load, move, withFreshRead } from '../../audit/transition.ts';
import {
  ConflictError,
  ForbiddenError,
  GoneError,
  PolicyLimitError,
  TransitionRefusedError,
} from '../../errors.ts';
import type { AccessRequest, IssuedSession } from '../../model.ts';
import type { Deps, PrincipalRef, SessionCredentials } from '../../ports.ts';
import { principalOf } from '../../principals.ts';
import { buildGrantPolicy, isoSeconds, POLICY_PREFIX, policyName } from '../policy-document.ts';
import { deleteVerified, putVerified } from '../verified-iam.ts';
import {
  OLDER_SESSIONS_POLICY,
  olderSessionsDenyPolicy,
  ROLE_CHAINING_MAX_SECONDS,
  SESSION_DENY_SID,
  sessionDenyPolicy,
  sessionName,
  sessionTags,
  sessionUserId,
  sourceIdentity,
  stsDurationSeconds,
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
function role(request: Pick<AccessRequest, 'target'>): PrincipalRef {
  return principalOf({ target: request.target, targetType: 'role' });
}

/**
 * Grant step of a credentials request: AssumeRole on the target with the session policy, SourceIdentity
 * and tags; seals the credentials on the request; records GRANTED with the session's identity.
 */
export async function grantCredentials(deps: Deps, request: AccessRequest): Promise<{ expiresAt: string }> {
  const now = deps.clock.now();
  const expiresAt = isoSeconds(new Date(now.getTime() + request.durationSeconds * 1000));
  const target = role(request);
  const roleId = await deps.iam.getRoleId(target.name);
  const name = sessionName(request.id);
  const durationSeconds = stsDurationSeconds(request.durationSeconds);
  const credentials = await deps.sts.assumeRole({
    roleArn: request.target,
    sessionName: name,
    sourceIdentity: sourceIdentity(request.requester),
    tags: sessionTags({
      requestId: request.id,
      requester: request.requester,
      ...(request.ticket ? { ticket: request.ticket } : {}),
    }),
    durationSeconds,
    policy: JSON.stringify(buildGrantPolicy(request.permissions, expiresAt)),
  });
  const sealed = await deps.vault.seal(request.id, JSON.stringify(credentials));
  const session: IssuedSession = {
    roleId,
    sessionName: name,
    sourceIdentity: sourceIdentity(request.requester),
    credentialsExpireAt: credentials.Expiration,
  };
  await move(
    deps,
    request,
    'GRANTED',
    'system:grant',
    {
      kind: 'credentials',
      expiresAt,
      userId: sessionUserId(roleId, name),
      sourceIdentity: session.sourceIdentity,
      stsDurationSeconds: durationSeconds,
      credentialsExpireAt: credentials.Expiration,
    },
    { expiresAt, session, sealedCredentials: sealed },
  );
  return { expiresAt };
}

/**
 * Ends the request's session now: a deny-all inline policy named `jit-<id>` conditioned on the session's
 * `aws:userid`, verified by read-back. When the role has no room left, falls back to one shared policy that
 * denies every JIT session of the role issued before now. Returns the deny to record.
 */
export async function denySession(deps: Deps, request: AccessRequest): Promise<SessionDeny> {
  const target = role(request);
  const stored = request.session as StoredSession | undefined;
  const roleId = stored?.roleId ?? (await deps.iam.getRoleId(target.name));
  const name = stored?.sessionName ?? sessionName(request.id);
  const now = deps.clock.now();
  const credentialsEnd =
    Date.parse(stored?.credentialsExpireAt ?? '') || now.getTime() + ROLE_CHAINING_MAX_SECONDS * 1000;
  const own = policyName(request.id);
  const document = JSON.stringify(sessionDenyPolicy(roleId, name));
  try {
    await putVerified(deps.iam, target, own, document, request.target);
    return { policyName: own, method: 'session', removeAfter: isoSeconds(new Date(credentialsEnd + 1000)) };
  } catch (error) {
    if (!(error instanceof PolicyLimitError)) throw error;
  }
  const before = isoSeconds(new Date(now.getTime() + 1000));
  const fallback = JSON.stringify(olderSessionsDenyPolicy(roleId, before));
  try {
    await putVerified(deps.iam, target, OLDER_SESSIONS_POLICY, fallback, request.target);
  } catch (error) {
    if (!(error instanceof PolicyLimitError)) throw error;
    // Still no room: the fallback subsumes every earlier JIT session deny on the role (all those
    // sessions were issued before `before`), so those make room for it.
    for (const name of await subsumedSessionDenies(deps, target)) await deps.iam.deletePolicy(target, name);
    await putVerified(deps.iam, target, OLDER_SESSIONS_POLICY, fallback, request.target);
  }
  // Every JIT session issued before `before` has expired one role-chaining maximum later.
  const removeAfter = isoSeconds(new Date(Date.parse(before) + ROLE_CHAINING_MAX_SECONDS * 1000 + 1000));
  return { policyName: OLDER_SESSIONS_POLICY, method: 'older-sessions', before, removeAfter };
}

/** The role's per-session deny policies (`jit-<id>` whose statement is the session deny). */
async function subsumedSessionDenies(deps: Deps, target: PrincipalRef): Promise<string[]> {
  const names = (await deps.iam.listPolicies(target)).filter(
    (n) => n.startsWith(POLICY_PREFIX) && n !== OLDER_SESSIONS_POLICY,
  );
  const denies: string[] = [];
  for (const name of names) {
    const doc = await deps.iam.getPolicy(target, name);
    if (
      doc &&
      (JSON.parse(doc) as { Statement?: { Sid?: string }[] }).Statement?.[0]?.Sid === SESSION_DENY_SID
    ) {
      denies.push(name);
    }
  }
  return denies;
}

/**
 * Cleanup step: once the credentials have expired, removes the session deny (it can no longer matter) so
 * denies do not pile up against the role's inline-policy limit. Records `REVOKED → REVOKED` with
 * SESSION_DENY_REMOVED. A shared fallback policy is removed only by the grant that wrote its current bound.
 */
export async function removeSessionDeny(deps: Deps, requestId: string): Promise<{ removed: boolean }> {
  return withFreshRead(deps, requestId, async (request) => {
    const session = request.session as StoredSession | undefined;
    const deny = session?.deny;
    if (request.status !== 'REVOKED' || !session || !deny || deny.removedAt) return { removed: false };
    const target = role(request);
    let removed = true;
    if (deny.method === 'older-sessions') {
      const current = await deps.iam.getPolicy(target, deny.policyName);
      const bound = current ? (JSON.parse(current) as ReturnType<typeof olderSessionsDenyPolicy>) : undefined;
      // A later revoke moved the bound: that grant removes it when its own sessions are over.
      removed = bound?.Statement[0]?.Condition.DateLessThan['aws:TokenIssueTime'] === deny.before;
    }
    if (removed) await deleteVerified(deps.iam, target, deny.policyName, request.target);
    const at = deps.clock.now().toISOString();
    await move(
      deps,
      request,
      'REVOKED',
      'system:session-cleanup',
      { event: 'SESSION_DENY_REMOVED', policyName: deny.policyName, method: deny.method, removed },
      { session: { ...session, deny: { ...deny, removedAt: at } } as IssuedSession },
    );
    return { removed };
  });
}

/** What `GET /requests/{id}/credentials` returns: the `credential_process` format (Version 1). */
export type CollectedCredentials = { readonly Version: 1 } & SessionCredentials;

/**
 * `GET /requests/{id}/credentials`: the requester, once. The sealed credentials are removed by the same
 * conditional write that records the collection, so two concurrent collections cannot both succeed.
 */
export async function collectCredentials(
  deps: Deps,
  caller: string,
  id: string,
): Promise<CollectedCredentials> {
  const request = await load(deps, id);
  if (request.requester !== caller)
    throw new ForbiddenError('only the requester can collect the credentials');
  if (request.kind !== 'credentials') {
    throw new ConflictError('NotGranted', 'this is a policy grant; it has no credentials to collect');
  }
  if (request.credentialsCollectedAt) {
    throw new GoneError(`the credentials were collected at ${request.credentialsCollectedAt}`);
  }
  if (request.status !== 'GRANTED' || !request.sealedCredentials) {
    if (request.status === 'REVOKED' || request.status === 'REVOKE_FAILED') {
      throw new GoneError(`the grant is ${request.status}; its credentials were discarded`);
    }
    throw new ConflictError('NotGranted', `request is ${request.status}, not GRANTED`);
  }
  const credentials = JSON.parse(await deps.vault.open(id, request.sealedCredentials)) as SessionCredentials;
  try {
    await move(
      deps,
      request,
      'GRANTED',
      caller,
      { event: 'CREDENTIALS_COLLECTED' },
      { sealedCredentials: null, credentialsCollectedAt: deps.clock.now().toISOString() },
    );
  } catch (error) {
    if (error instanceof TransitionRefusedError)
      throw new GoneError('the credentials were collected or discarded meanwhile');
    throw error;
  }
  return { Version: 1, ...credentials };
}
