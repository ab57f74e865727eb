/**
 * Domain errors. Each carries a stable `code` that the HTTP mapper turns into a status; anything that is
 * not one of these becomes a 500 with a generic message.
 */

/** One problem with one field of the input, e.g. `{field: 'permissions[0].actions[1]', message: '…'}`. */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

/** Base for every error the broker raises on purpose. */
export abstract class BrokerError extends Error {
  abstract readonly code: string;
  readonly details?: readonly FieldIssue[];
  constructor(message: string, details?: readonly FieldIssue[]) {
    super(message);
    if (details) this.details = details;
  }
}

/** The request body (or a workflow input) is malformed or asks for something no rule can allow. 400. */
export class InvalidRequestError extends BrokerError {
  override readonly name = 'InvalidRequestError';
  readonly code = 'InvalidRequest';
}

/** The caller may not ask for this target or these permissions. 403. */
export class NotEligibleError extends BrokerError {
  override readonly name = 'NotEligibleError';
  readonly code = 'NotEligible';
}

/** The requester tried to approve their own request. 403. */
export class SelfApprovalError extends BrokerError {
  override readonly name = 'SelfApprovalError';
  readonly code = 'SelfApproval';
}

/** The caller is not an approver of the request's rule (or otherwise may not act on it). 403. */
export class NotApproverError extends BrokerError {
  override readonly name = 'NotApproverError';
  readonly code = 'NotApprover';
}

/** The caller may not see or act on this request. 403. */
export class ForbiddenError extends BrokerError {
  override readonly name = 'ForbiddenError';
  readonly code = 'Forbidden';
}

/** No such request. 404. */
export class NotFoundError extends BrokerError {
  override readonly name = 'NotFoundError';
  readonly code = 'NotFound';
}

/** The request is not in a state that allows this action (e.g. approving a decided request). 409. */
export class ConflictError extends BrokerError {
  override readonly name = 'ConflictError';
  readonly code:
    | 'NotPending'
    | 'NotGranted'
    | 'NotCancellable'
    | 'AlreadyVoted'
    | 'ApprovalWindowClosed'
    | 'NotExtendable'
    | 'BreakGlassActive'
    | 'NotAwaitingReview'
    | 'AlreadyReviewed';
  constructor(code: ConflictError['code'], message: string, details?: readonly FieldIssue[]) {
    super(message, details);
    this.code = code;
  }
}

/**
 * The audit store refused a status change because the stored status (or version) was not the expected one.
 * Illegal and duplicate transitions end here; nothing was written.
 */
export class TransitionRefusedError extends BrokerError {
  override readonly name = 'TransitionRefusedError';
  readonly code = 'Conflict';
}

/** An IAM/STS call was throttled or hit a transient service error: the workflow retries these. */
export class RetryableAwsError extends BrokerError {
  override readonly name = 'RetryableAwsError';
  readonly code = 'RetryableAws';
}

/** What IAM holds after a write is not what we wrote (grant) or still exists (revoke). */
export class VerificationError extends BrokerError {
  override readonly name = 'VerificationError';
  readonly code = 'VerificationFailed';
}

/** The policy config is invalid; thrown at synth, at local start-up and at Lambda cold start. */
export class ConfigError extends BrokerError {
  override readonly name = 'ConfigError';
  readonly code = 'InvalidConfig';
}

/** AssumeRole was refused: the target role's trust policy does not let the broker in (with its tags). */
export class TrustPolicyError extends BrokerError {
  override readonly name = 'TrustPolicyError';
  readonly code = 'TrustPolicy';
}

/** The requester already collected the credentials of this grant. 410. */
export class GoneError extends BrokerError {
  override readonly name = 'GoneError';
  readonly code = 'AlreadyCollected';
}

/**
 * The workflow no longer waits for this task token: the approval task timed out, was already answered, or
 * its execution was stopped. Adapters translate the engine's own errors into this one.
 */
export class TaskClosedError extends BrokerError {
  override readonly name = 'TaskClosedError';
  readonly code = 'TaskClosed';
}

/** The principal has no room for this inline policy (IAM's aggregate inline-policy size per role/user). */
export class PolicyLimitError extends BrokerError {
  override readonly name = 'PolicyLimitError';
  readonly code = 'PolicyLimit';
}

/** The role or user the broker was to write on does not exist (in that account). */
export class PrincipalNotFoundError extends BrokerError {
  override readonly name = 'PrincipalNotFoundError';
  readonly code = 'PrincipalNotFound';
}

/**
 * The broker could not assume a target account's grantor role (trust policy, ExternalId, stack not
 * deployed): nothing can be read or written in that account until it is fixed. The message names the
 * account, the role and what to check.
 */
export class GrantorUnavailableError extends BrokerError {
  override readonly name = 'GrantorUnavailableError';
  readonly code = 'GrantorUnavailable';
}

/**
 * The evidence archive already holds an object under this key and refuses to overwrite it (S3 Object Lock,
 * a conditional write; the local archive alike). The writer then compares the archived content.
 */
export class AlreadyArchivedError extends BrokerError {
  override readonly name = 'AlreadyArchivedError';
  readonly code = 'AlreadyArchived';
}

/**
 * The table holds an event that differs from the one archived under the same request and seq: the table
 * was rewritten after the event was archived. Never retried into success; the record goes to the DLQ.
 */
export class EvidenceMismatchError extends BrokerError {
  override readonly name = 'EvidenceMismatchError';
  readonly code = 'EvidenceMismatch';
}

/**
 * An extension reached its grant step after the grant it extends had ended (or the chain's lifetime was
 * used up): nothing is granted, and the compensation knows nothing was attached.
 */
export class ExtensionLapsedError extends BrokerError {
  override readonly name = 'ExtensionLapsedError';
  readonly code = 'ExtensionLapsed';
}
