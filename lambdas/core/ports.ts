import type { ActivityQuery, ActivityResult } from './audit/activity.ts';
import type { ActivityReview } from './audit/review-report.ts';
import type { Status } from './lifecycle.ts';
import type { AccessRequest, AuditEvent, RequestPatch, RevokeResult } from './model.ts';
import type { PolicyConfig } from './policy/config-schema.ts';
import type { PrincipalRef } from './principals.ts';

/** One status change as the store writes it: conditional on `from` and `expectVersion`, with its event. */
export interface TransitionWrite {
  readonly from: Status;
  readonly to: Status;
  readonly expectVersion: number;
  readonly event: AuditEvent;
  readonly at: string;
  readonly patch?: RequestPatch;
}

/**
 * The audit log and request store. `transition` is atomic: either the request's status moves from `from`
 * to `to` and the event is appended, or nothing is written and TransitionRefusedError is thrown.
 */
export interface AuditStore {
  create(request: AccessRequest, event: AuditEvent): Promise<void>;
  get(id: string): Promise<AccessRequest | undefined>;
  events(id: string): Promise<AuditEvent[]>;
  transition(id: string, write: TransitionWrite): Promise<void>;
  /**
   * One page of a requester's requests, newest first. `after` is the `next` of the previous page (opaque
   * to callers); `next` is absent on the last page.
   */
  listByRequester(requester: string, limit: number, after?: string): Promise<RequestPage>;
  /**
   * Requests that may still hold a grant (GRANTED, REVOKE_FAILED) whose expiresAt is before `before`
   * (ISO 8601 to the second, the format of expiresAt: the index compares strings).
   */
  findExpiredGrants(before: string, limit: number): Promise<AccessRequest[]>;
  /**
   * Requests still in flight (REQUESTED, PENDING_APPROVAL, APPROVED) whose last change is before
   * `updatedBefore` (ISO 8601), oldest first: the reconciler's search, through an index.
   */
  findInFlight(updatedBefore: string, limit: number): Promise<AccessRequest[]>;
  /**
   * Requests in PENDING_APPROVAL, whoever their approvers, oldest last change first, at most `limit`:
   * through an index, never a table scan (`GET /pending` narrows them to the caller's).
   */
  findPendingApproval(limit: number): Promise<AccessRequest[]>;
  /**
   * One page of every requester's requests created at or after `filter.since`, newest first, narrowed to a
   * status and a rule when given (the auditors' listing; through an index by creation month, never a scan).
   */
  listAll(filter: RequestFilter, limit: number, after?: string): Promise<RequestPage>;
  /** Requests whose `followUpAt` is at or before `dueBy`, at most `limit` (the review job's search). */
  findFollowUps(dueBy: string, limit: number): Promise<AccessRequest[]>;
  /** Stores a request's audit review (its own item, replaced by the next pass; not part of the chain). */
  putReview(id: string, review: ActivityReview): Promise<void>;
  getReview(id: string): Promise<ActivityReview | undefined>;
}

/** What the auditors' listing narrows to. */
export interface RequestFilter {
  /** ISO 8601: requests created at or after it. */
  readonly since: string;
  /** ISO 8601: now (the newest month the listing starts from). */
  readonly until: string;
  readonly status?: Status;
  readonly ruleId?: string;
}

/** One page of requests and where the next one starts (absent: this was the last page). */
export interface RequestPage {
  readonly items: AccessRequest[];
  readonly next?: string;
}

export type { PrincipalRef };

/**
 * Inline policies on IAM principals, in the principal's own account (`PrincipalRef.account`): with several
 * accounts the adapter reaches each through its grantor role (GrantorUnavailableError when it cannot).
 * `delete` treats a policy that is already gone as done.
 */
export interface IamGrants {
  putPolicy(principal: PrincipalRef, policyName: string, document: string): Promise<void>;
  /** The stored document (decoded JSON text), or undefined when there is no such policy. */
  getPolicy(principal: PrincipalRef, policyName: string): Promise<string | undefined>;
  deletePolicy(principal: PrincipalRef, policyName: string): Promise<void>;
  /**
   * The existing roles and users of `account` whose ARN matches one of the patterns (the sweeper's search
   * space, one account at a time).
   */
  listPrincipals(
    patterns: readonly string[],
    account: string,
  ): Promise<(PrincipalRef & { readonly arn: string })[]>;
  /** Names of the principal's inline policies. */
  listPolicies(principal: PrincipalRef): Promise<string[]>;
  /** The role's unique id (`AROA…`), the first half of its sessions' `aws:userid`. */
  getRoleId(role: PrincipalRef): Promise<string>;
}

/** What AssumeRole is asked for a credentials grant. */
export interface AssumeRoleInput {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly sourceIdentity: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly durationSeconds: number;
  /** The session policy (JSON text): the session can do at most what both it and the role allow. */
  readonly policy: string;
}

/** Temporary credentials, in the shape `credential_process` / `aws configure export-credentials` use. */
export interface SessionCredentials {
  readonly AccessKeyId: string;
  readonly SecretAccessKey: string;
  readonly SessionToken: string;
  /** ISO 8601. */
  readonly Expiration: string;
}

/** STS: issues session credentials on a target role. */
export interface Sts {
  assumeRole(input: AssumeRoleInput): Promise<SessionCredentials>;
}

/**
 * Seals credentials while they wait for collection (KMS in AWS). `requestId` binds the ciphertext to its
 * request (encryption context), so a sealed blob copied onto another request does not open.
 */
export interface CredentialVault {
  seal(requestId: string, plaintext: string): Promise<string>;
  open(requestId: string, sealed: string): Promise<string>;
}

/**
 * Where a request's execution stands: Step Functions' own statuses, or NOT_FOUND when the engine has no
 * execution of that name (never started, or gone with a restarted local engine).
 */
export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE'
  | 'NOT_FOUND';

/** The Step Functions workflow. `start` is idempotent on the request id (the execution name). */
export interface Workflow {
  start(requestId: string): Promise<void>;
  /** Answers the waiting approval task; TaskClosedError when no task waits for this token any more. */
  sendSuccess(taskToken: string, output: Record<string, unknown>): Promise<void>;
  /** The status of the request's execution (the reconciler's question). */
  status(requestId: string): Promise<ExecutionStatus>;
}

/**
 * Ends a grant now, on behalf of `actor` (early revoke). In AWS this is the revoke function, invoked by the
 * API function, which itself holds no IAM permission; locally and in tests, the same core revoke in process.
 */
export interface Revocations {
  revoke(requestId: string, actor: string, reason: string): Promise<RevokeResult>;
}

/** Where approvers are told about requests (Slack later); the default tells no one. */
export interface Approvals {
  requestPending(request: AccessRequest): Promise<void>;
  /** Break-glass: a card in the security channel once granted, kept current until revoke (Slack only). */
  announce?(request: AccessRequest): Promise<void>;
}

/**
 * The write-once evidence archive (S3 with Object Lock; a directory locally). `put` never overwrites: an
 * existing key throws AlreadyArchivedError. `list` returns the keys under `prefix`, in key order.
 */
export interface EvidenceArchive {
  put(key: string, body: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
  list(prefix: string): Promise<string[]>;
}

/**
 * CloudTrail activity of a grant in its target account: LookupEvents (management events, 90 days) through
 * the grantor role, and Athena over the organization trail (data events too) when configured. A source that
 * fails is reported in `sources` with its error; the others still answer.
 */
export interface Activity {
  find(query: ActivityQuery): Promise<ActivityResult>;
}

/** An alert for people on call (break-glass granted, a review overdue): who, what, where, why, until when. */
export interface BrokerAlert {
  readonly subject: string;
  /** Plain text, a few lines. */
  readonly text: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Where alerts go (SNS in AWS; recorded locally). */
export interface Alerts {
  publish(alert: BrokerAlert): Promise<void>;
}

/** Time, so tests control it. */
export interface Clock {
  now(): Date;
}

/** Id generation, so tests control it. */
export interface Ids {
  requestId(): string;
}

/** Everything the core needs, injected. */
export interface Deps {
  readonly config: PolicyConfig;
  readonly store: AuditStore;
  readonly iam: IamGrants;
  readonly sts: Sts;
  readonly vault: CredentialVault;
  readonly workflow: Workflow;
  readonly revocations: Revocations;
  readonly approvals: Approvals;
  readonly clock: Clock;
  readonly ids: Ids;
  /** Alerts (break-glass): absent where the function sends none. */
  readonly alerts?: Alerts;
  /** CloudTrail reads for the audit review (API, review function); absent: reviews say no source was read. */
  readonly activity?: Activity;
  /** The write-once evidence archive, where the function verifies against it (API). */
  readonly evidence?: EvidenceArchive;
}
