/**
 * The audit review of one grant: what was asked, who approved, when it was first used, what it did, what it
 * tried and was refused, and how much of it was never needed. The shape the API returns
 * (`GET /requests/{id}/review`), the store keeps and `jit audit` prints.
 */
import type { EventClass, SourceReport } from './activity.ts';

/** Calls of one granted action on one resource. */
export interface ActionUse {
  /** `s3:GetObject`. */
  readonly action: string;
  /** The resource the records name; `*` when they name none (most management events). */
  readonly resource: string;
  readonly calls: number;
  readonly firstAt: string;
  readonly lastAt: string;
  /** Who made the calls: `aws:userid` (`AROA…:jit-<id>`) or the user ARN. */
  readonly sessions: readonly string[];
  readonly sourceIps: readonly string[];
  readonly userAgents: readonly string[];
}

/** A call CloudTrail recorded as refused. */
export interface Refusal {
  readonly action: string;
  readonly resource: string;
  readonly at: string;
  readonly errorCode: string;
  /** True when the action and resource are inside what was granted (refused anyway: e.g. after expiry). */
  readonly insideGrant: boolean;
  readonly eventId: string;
  readonly sourceIp?: string;
}

/** One matched record, for the timeline and the links. */
export interface ReviewedCall {
  readonly eventId: string;
  readonly at: string;
  readonly action: string;
  readonly resource: string;
  readonly outcome: 'allowed' | 'refused';
  readonly errorCode?: string;
  readonly session?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  readonly eventClass: EventClass;
  /** CloudTrail console link to the record (event history keeps management events 90 days). */
  readonly link: string;
}

/** A policy statement of the suggested least-privilege policy. */
export interface SuggestedStatement {
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
}

export interface ActivityReview {
  readonly requestId: string;
  readonly kind: string;
  readonly ruleId: string;
  readonly requester: string;
  readonly target: string;
  readonly account: string;
  readonly reason: string;
  readonly ticket?: string;
  readonly status: string;
  /** Who approved, when (empty for auto-approved rules). */
  readonly approvals: readonly { readonly approver: string; readonly at: string }[];
  readonly breakGlass?: boolean;
  /** What was granted, as asked. */
  readonly granted: readonly { readonly actions: readonly string[]; readonly resources: readonly string[] }[];
  readonly window: {
    readonly grantedAt: string;
    readonly expiresAt?: string;
    readonly revokedAt?: string;
    /** The calls attributed to the grant fall in [grantedAt, usableUntil]. */
    readonly usableUntil: string;
    /** What the sources were asked for: [grantedAt, usableUntil + CloudTrail's delivery delay]. */
    readonly searchedFrom: string;
    readonly searchedTo: string;
  };
  /** The keys the records were matched on. */
  readonly correlation: {
    readonly principalArn: string;
    readonly accessKeyId?: string;
    readonly sessionName?: string;
    readonly sourceIdentity?: string;
    readonly roleId?: string;
  };
  /** True until the final review is stored (revokedAt + 15 minutes at the earliest). */
  readonly provisional: boolean;
  /** 0: computed on demand; 1: stored at revokedAt + 15 min; 2: re-run at revokedAt + 60 min. */
  readonly pass: 0 | 1 | 2;
  readonly generatedAt: string;
  readonly firstUse?: {
    readonly at: string;
    readonly action: string;
    readonly eventId: string;
    readonly sourceIp?: string;
    readonly userAgent?: string;
  };
  /** Allowed calls per granted action × resource, most used first. */
  readonly used: readonly ActionUse[];
  /** True when more action × resource rows were used than the review lists (the aggregates count all). */
  readonly usedTruncated: boolean;
  readonly refused: readonly Refusal[];
  /** Granted actions (as written in the grant) no allowed call matched, and their share of all granted. */
  readonly unused: { readonly actions: readonly string[]; readonly share: number };
  /** What was used, as a policy (Allow only; empty when nothing was used). */
  readonly suggestedPolicy: {
    readonly Version: '2012-10-17';
    readonly Statement: readonly SuggestedStatement[];
  };
  readonly visibility: {
    /** `management` only, or `data` too (Athena over a trail that logs data events). */
    readonly eventClasses: readonly EventClass[];
    readonly sources: readonly SourceReport[];
    /** True when a source failed: the review may miss calls. */
    readonly incomplete: boolean;
  };
  /** The request's hash chain, as verified when the review was built. */
  readonly integrity: { readonly ok: boolean; readonly events: number; readonly problem?: string };
  /** Matched records, oldest first (at most REVIEW_CALLS_LIMIT; `callsTruncated` says when more matched). */
  readonly calls: readonly ReviewedCall[];
  readonly callsTruncated: boolean;
  /** SHA-256 of the canonical JSON of the review without this field (set when stored). */
  readonly hash?: string;
}

/** How many matched records a review lists one by one (the aggregates count them all). */
export const REVIEW_CALLS_LIMIT = 500;
