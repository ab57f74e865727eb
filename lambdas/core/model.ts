import type { GrantKind } from './grants/kinds.ts';
import type { Status } from './lifecycle.ts';

/** One block of permissions asked for: actions on resources. */
export interface Permission {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

export type { GrantKind };

/** One approver's vote. */
export interface ApprovalVote {
  readonly approver: string;
  readonly at: string;
  readonly comment?: string;
}

/** The request item (`pk=REQ#<id>, sk=META`). */
export interface AccessRequest {
  readonly id: string;
  readonly status: Status;
  /** Sequence number of the last event; every write expects it (optimistic concurrency). */
  readonly version: number;
  /** Hash of the last event, so the next one can chain to it. */
  readonly lastHash: string;
  readonly requester: string;
  readonly target: string;
  readonly targetType: 'role' | 'user';
  readonly kind: GrantKind;
  readonly ruleId: string;
  readonly permissions: readonly Permission[];
  readonly durationSeconds: number;
  readonly reason: string;
  readonly ticket?: string;
  readonly approvals: readonly ApprovalVote[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly expiresAt?: string;
  /** Step Functions callback token of the approval step. Never leaves the store except to the Workflow port. */
  readonly taskToken?: string;
  /** Credentials grants: the issued session, as IAM sees it (`aws:userid` = `<roleId>:<sessionName>`). */
  readonly session?: IssuedSession;
  /** Credentials grants: the STS credentials, sealed by the CredentialVault, until collected or expired. */
  readonly sealedCredentials?: string;
  /** Credentials grants: when the requester collected the credentials (they can be collected once). */
  readonly credentialsCollectedAt?: string;
  /** Extensions: the id of the granted request this one extends (its parent). */
  readonly extends?: string;
  /** The id of the latest extension asked for this grant (its child); recorded with a `GRANTED` note. */
  readonly extendedBy?: string;
  /** Extensions: the reason code the requester gave (one of the rule's or the config's codes). */
  readonly reasonCode?: string;
  /**
   * Extensions: the latest the chain may end (its first grant + 2 × the rule's maximum); the grant step
   * shortens the child's window to end by then.
   */
  readonly chainEndsBy?: string;
  /** When the grant was first used (the `FIRST_USED` note; recorded once). */
  readonly firstUsedAt?: string;
  /** Where the first use came from (the record's source IP), for the Slack card. */
  readonly firstUsedFrom?: string;
  /**
   * When the broker next has follow-up work on this request (an audit review pass, a break-glass review
   * deadline); absent when it has none. The scheduled review job finds requests by it.
   */
  readonly followUpAt?: string;
  /** The last stored audit review: its pass (1 at revokedAt + 15 min, 2 at + 60 min) and hash. */
  readonly review?: { readonly pass: 1 | 2; readonly hash: string; readonly at: string };
  /** Break-glass requests: the incident reference and the review state after revoke. */
  readonly breakGlass?: BreakGlassState;
}

/** A break-glass request's incident and its human reviews (two distinct reviewers, never the requester). */
export interface BreakGlassState {
  readonly incident: string;
  readonly reviews: readonly BreakGlassReview[];
  /** After revoke: when the reviews are overdue (revokedAt + `breakGlass.reviewOverdueHours`). */
  readonly reviewDueBy?: string;
  /** True once two distinct reviewers have given their verdict. */
  readonly reviewed?: boolean;
  /** Set when the overdue alarm fired (the requester's break-glass eligibility is suspended until reviewed). */
  readonly overdueAt?: string;
  /** When the alert topic took the break-glass announcement (absent: not yet; the review job re-sends it). */
  readonly announcedAt?: string;
}

/** One reviewer's verdict on a break-glass grant. */
export interface BreakGlassReview {
  readonly reviewer: string;
  readonly verdict: 'appropriate' | 'misuse';
  readonly notes: string;
  readonly at: string;
}

/** The STS session a credentials grant issued. */
export interface IssuedSession {
  readonly roleId: string;
  readonly sessionName: string;
  readonly sourceIdentity: string;
  /** When the STS credentials themselves expire (≥ expiresAt: STS issues at least 900 s). */
  readonly credentialsExpireAt: string;
  /** The session's access key id (`ASIA…`, not a secret): how CloudTrail's LookupEvents finds its calls. */
  readonly accessKeyId?: string;
}

/** One append-only event item (`pk=REQ#<id>, sk=EVT#<seq>`). */
export interface AuditEvent {
  readonly requestId: string;
  readonly seq: number;
  readonly from: Status | null;
  readonly to: Status;
  readonly at: string;
  readonly actor: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
}

/** Fields a transition may change besides status/version/lastHash/updatedAt. */
export interface RequestPatch {
  readonly approvals?: readonly ApprovalVote[];
  readonly expiresAt?: string;
  /** A string sets the token, `null` removes it. */
  readonly taskToken?: string | null;
  readonly session?: IssuedSession;
  /** A string sets the sealed credentials, `null` removes them. */
  readonly sealedCredentials?: string | null;
  readonly credentialsCollectedAt?: string;
  readonly extendedBy?: string;
  readonly firstUsedAt?: string;
  readonly firstUsedFrom?: string;
  /** A string sets it, `null` removes it (the store indexes requests by it while it is set). */
  readonly followUpAt?: string | null;
  readonly review?: AccessRequest['review'];
  readonly breakGlass?: BreakGlassState;
}

/** What the API returns for a request: everything but the task token, credentials and the hash pointer. */
export type PublicRequest = Omit<AccessRequest, 'taskToken' | 'lastHash' | 'sealedCredentials'>;

/** Strips what must never leave the broker. */
export function toPublic(request: AccessRequest): PublicRequest {
  const { taskToken: _token, lastHash: _hash, sealedCredentials: _creds, ...rest } = request;
  // Adapter bookkeeping stored on the item (e.g. the Slack card reference) is not part of the contract.
  const { slackCard: _card, ...contract } = rest as PublicRequest & { slackCard?: unknown };
  return contract;
}

/** Result of a revoke: `alreadyRevoked` when another path (early revoke, workflow) got there first. */
export interface RevokeResult {
  readonly requestId: string;
  readonly status: Status;
  readonly alreadyRevoked: boolean;
  readonly kind: GrantKind;
  /** Credentials grants: when the session deny may be removed (the workflow waits for it); else null. */
  readonly cleanupAt: string | null;
}
