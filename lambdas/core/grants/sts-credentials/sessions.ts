/**
 * STS credentials grants: the limits STS puts on a session and the names, tags and deny policies the broker
 * derives from a request. Pure functions; the Sts port does the calls.
 */
import { POLICY_PREFIX } from '../policy-document.ts';

/** STS never issues credentials for less than this. */
export const STS_MIN_DURATION_SECONDS = 900;
/**
 * The broker assumes target roles with its own role-session credentials (role chaining), which STS caps at
 * one hour whatever the target role's MaxSessionDuration.
 */
export const ROLE_CHAINING_MAX_SECONDS = 3600;
/** Plain-text limit of an AssumeRole session policy (STS also checks a packed size it does not publish). */
export const SESSION_POLICY_LIMIT = 2048;

/**
 * The DurationSeconds to ask STS for: the grant window rounded up to STS's 900 s minimum, capped by role
 * chaining and by the role's own maximum when known. Validation refuses windows above the cap, so the
 * credentials never outlive the window by more than the rounding (and the session policy's expiry
 * condition and the session-deny end the session at expiresAt anyway).
 */
export function stsDurationSeconds(
  windowSeconds: number,
  roleMaxSessionSeconds = ROLE_CHAINING_MAX_SECONDS,
): number {
  const cap = Math.min(ROLE_CHAINING_MAX_SECONDS, roleMaxSessionSeconds);
  return Math.min(Math.max(Math.ceil(windowSeconds), STS_MIN_DURATION_SECONDS), cap);
}

const STS_NAME_CHARS = /[^\w+=,.@-]/g;

/** RoleSessionName of a request: `jit-<requestId>`, in STS's charset, at most 64 characters. */
export function sessionName(requestId: string): string {
  return `${POLICY_PREFIX}${requestId}`.replace(STS_NAME_CHARS, '-').slice(0, 64);
}

/**
 * SourceIdentity for the requester: the person behind the principal (last segment of the ARN: the
 * Identity Center user name in an assumed-role session ARN, the IAM user name), in STS's charset
 * (`[\w+=,.@-]`), 2-64 characters. SourceIdentity persists through role chaining and is logged by
 * CloudTrail on every call the session makes.
 */
export function sourceIdentity(requester: string): string {
  const last = requester.slice(requester.lastIndexOf('/') + 1) || requester;
  const clean = last.replace(STS_NAME_CHARS, '-').slice(0, 64);
  return clean.length >= 2 ? clean : `jit-${clean}`.slice(0, 64);
}

const TAG_VALUE_CHARS = /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu;

/** Session tags (visible as `aws:PrincipalTag/jit:*` and in CloudTrail); values sanitized to STS's charset. */
export function sessionTags(input: {
  requestId: string;
  requester: string;
  ticket?: string;
}): Record<string, string> {
  const value = (v: string) => v.replace(TAG_VALUE_CHARS, '_').slice(0, 256);
  return {
    'jit:request-id': value(input.requestId),
    'jit:requester': value(input.requester),
    ...(input.ticket ? { 'jit:ticket': value(input.ticket) } : {}),
  };
}

/** `aws:userid` of a role session: `<roleId>:<sessionName>`. */
export function sessionUserId(roleId: string, name: string): string {
  return `${roleId}:${name}`;
}

/** Sid of the per-session deny statement (how the broker recognizes its own session denies). */
export const SESSION_DENY_SID = 'JitRevokeSession';

/**
 * The inline policy that ends exactly one session: deny everything when `aws:userid` is that session's.
 * Other sessions of the role (other grants, other users) are untouched.
 */
export function sessionDenyPolicy(roleId: string, name: string) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: SESSION_DENY_SID,
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { StringEquals: { 'aws:userid': sessionUserId(roleId, name) } },
      },
    ],
  } as const;
}

/**
 * The fallback when the role has no room for one more inline policy: one shared policy that denies every
 * broker-issued session of the role (`<roleId>:jit-*`) whose token was issued before `before`, like the
 * console's "Revoke active sessions" (AWSRevokeOlderSessions) but limited to JIT sessions.
 */
export function olderSessionsDenyPolicy(roleId: string, before: string) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'JitRevokeOlderSessions',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: {
          StringLike: { 'aws:userid': `${roleId}:${POLICY_PREFIX}*` },
          DateLessThan: { 'aws:TokenIssueTime': before },
        },
      },
    ],
  } as const;
}

/** Name of the shared fallback policy (one per role). */
export const OLDER_SESSIONS_POLICY = `${POLICY_PREFIX}revoke-older-sessions`;
