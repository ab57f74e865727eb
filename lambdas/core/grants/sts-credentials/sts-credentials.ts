/**
 * The `credentials` kind: STS session credentials on the target role, scoped by a session policy that
 * carries the same expiry condition as an inline grant, sealed until the requester collects them once, and
 * ended at revoke by a deny aimed at exactly that session, which is removed once the credentials expired.
 */
import { PrincipalNotFoundError } from '../../errors.ts';
import type { IssuedSession } from '../../model.ts';
import type { GrantKindModule } from '../kind.ts';
import { buildGrantPolicy, isoSeconds, policySize } from '../policy-document.ts';
import { deleteVerified } from '../verified-iam.ts';
import { denySession, roleOf, type SessionDeny, type StoredSession } from './session-deny.ts';
import {
  type olderSessionsDenyPolicy,
  ROLE_CHAINING_MAX_SECONDS,
  SESSION_POLICY_LIMIT,
  sessionName,
  sessionTags,
  sessionUserId,
  sourceIdentity,
  stsDurationSeconds,
} from './sessions.ts';

/** The session deny's own fields as recorded in the REVOKED event and the compensation. */
function denyDetails(deny: SessionDeny): Record<string, unknown> {
  return {
    policyName: deny.policyName,
    method: deny.method,
    ...(deny.method === 'older-sessions'
      ? {
          note: `role has no room for another inline policy: denied JIT sessions issued before ${deny.before}`,
        }
      : {}),
  };
}

export const stsCredentials: GrantKindModule = {
  attachesAllow: false,

  ruleIssues(rule) {
    const issues = rule.targets.flatMap((t, i) =>
      t.includes(':role/')
        ? []
        : [{ field: `targets[${i}]`, message: 'credentials rules target roles (the broker assumes them)' }],
    );
    if (rule.maxDurationSeconds > ROLE_CHAINING_MAX_SECONDS) {
      issues.push({
        field: 'maxDurationSeconds',
        message: `credentials rules are capped at ${ROLE_CHAINING_MAX_SECONDS} seconds (STS role chaining)`,
      });
    }
    return issues;
  },

  targetIssues: (targetType) =>
    targetType === 'role'
      ? []
      : [{ field: 'target', message: 'credentials grants need a role to assume, not a user' }],

  limitIssues({ durationSeconds, permissions }) {
    if (durationSeconds > ROLE_CHAINING_MAX_SECONDS) {
      return [
        {
          field: 'durationSeconds',
          message: `credentials are issued by role chaining, which STS caps at ${ROLE_CHAINING_MAX_SECONDS} seconds`,
        },
      ];
    }
    const size = policySize(buildGrantPolicy(permissions, isoSeconds(new Date(0))));
    if (size <= SESSION_POLICY_LIMIT) return [];
    const what = 'STS allows for a session policy';
    return [
      {
        field: 'permissions',
        message: `the policy would be ${size} characters; ${what} is ${SESSION_POLICY_LIMIT}`,
      },
    ];
  },

  /** AssumeRole with the session policy, SourceIdentity and tags; the credentials are sealed on the request. */
  async grant(ports, request) {
    const expiresAt = isoSeconds(new Date(ports.clock.now().getTime() + request.durationSeconds * 1000));
    const roleId = await ports.iam.getRoleId(roleOf(request));
    const name = sessionName(request.id);
    const durationSeconds = stsDurationSeconds(request.durationSeconds);
    const credentials = await ports.sts.assumeRole({
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
    const sealed = await ports.vault.seal(request.id, JSON.stringify(credentials));
    const session: IssuedSession = {
      roleId,
      sessionName: name,
      sourceIdentity: sourceIdentity(request.requester),
      credentialsExpireAt: credentials.Expiration,
      accessKeyId: credentials.AccessKeyId,
    };
    return {
      expiresAt,
      details: {
        kind: 'credentials',
        expiresAt,
        userId: sessionUserId(roleId, name),
        // Correlation keys of the audit review: CloudTrail records every call with them.
        sessionName: name,
        roleId,
        accessKeyId: credentials.AccessKeyId,
        sourceIdentity: session.sourceIdentity,
        stsDurationSeconds: durationSeconds,
        credentialsExpireAt: credentials.Expiration,
      },
      patch: { expiresAt, session, sealedCredentials: sealed },
    };
  },

  async revoke(ports, request) {
    const deny = await denySession(ports, request);
    const session = { ...(request.session as StoredSession), deny };
    return {
      details: {
        sessionDenied: sessionUserId(session.roleId, session.sessionName),
        ...denyDetails(deny),
        verified: true,
      },
      patch: { session, sealedCredentials: null },
    };
  },

  async compensate(ports, request, failure) {
    // A refused AssumeRole issued nothing; any other failure may have left a live session: deny it (unless
    // the role itself is gone, and every session with it).
    if (failure.error === 'TrustPolicyError') return { details: { sessionIssued: false } };
    try {
      const deny = await denySession(ports, request);
      return { details: { sessionDenyPolicy: deny.policyName, sessionDenyMethod: deny.method } };
    } catch (error) {
      if (error instanceof PrincipalNotFoundError) return { details: { sessionIssued: false } };
      throw error;
    }
  },

  cleanupAt(request) {
    const deny = (request.session as StoredSession | undefined)?.deny;
    return deny && !deny.removedAt ? deny.removeAfter : null;
  },

  /**
   * Once the credentials have expired the session deny can no longer matter: it goes, so denies do not pile
   * up against the role's inline-policy limit. A shared fallback policy is removed only by the grant that
   * wrote its current bound.
   */
  async cleanup(ports, request) {
    const session = request.session as StoredSession;
    const deny = session.deny as SessionDeny;
    const target = roleOf(request);
    let removed = true;
    if (deny.method === 'older-sessions') {
      const current = await ports.iam.getPolicy(target, deny.policyName);
      const bound = current ? (JSON.parse(current) as ReturnType<typeof olderSessionsDenyPolicy>) : undefined;
      // A later revoke moved the bound: that grant removes it when its own sessions are over.
      removed = bound?.Statement[0]?.Condition.DateLessThan['aws:TokenIssueTime'] === deny.before;
    }
    if (removed) await deleteVerified(ports.iam, target, deny.policyName, request.target);
    const removedAt = ports.clock.now().toISOString();
    return {
      removed,
      details: { event: 'SESSION_DENY_REMOVED', policyName: deny.policyName, method: deny.method, removed },
      patch: { session: { ...session, deny: { ...deny, removedAt } } as IssuedSession },
    };
  },
};
