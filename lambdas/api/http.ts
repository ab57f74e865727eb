import type { APIGatewayProxyResult } from 'aws-lambda';
import { BrokerError } from '#core/errors.ts';
import { log } from '../runtime/logger.ts';

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  InvalidRequest: 400,
  Unauthenticated: 401,
  NotEligible: 403,
  SelfApproval: 403,
  NotApprover: 403,
  Forbidden: 403,
  NotFound: 404,
  NotPending: 409,
  NotGranted: 409,
  NotCancellable: 409,
  AlreadyVoted: 409,
  ApprovalWindowClosed: 409,
  NotExtendable: 409,
  BreakGlassActive: 409,
  NotAwaitingReview: 409,
  AlreadyReviewed: 409,
  AlreadyCollected: 410,
  // AWS throttled us: nothing was written; the caller may simply try again.
  RetryableAws: 503,
  Conflict: 409,
};

/** A JSON response. */
export function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

/** The error envelope of every failure: `{"error":{"code","message","details?"}}`. */
export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details ? { details } : {}) } };
}

/**
 * Maps an error to a response. Domain errors keep their code and message; anything else is a 500 with
 * a generic message, and the details go to the log only.
 */
export function toErrorResponse(error: unknown, requestId?: string): APIGatewayProxyResult {
  if (error instanceof BrokerError) {
    const status = STATUS_BY_CODE[error.code];
    if (status !== undefined) return json(status, errorBody(error.code, error.message, error.details));
  }
  log.error('unhandled error', error, { requestId });
  return json(500, errorBody('InternalError', 'internal error; see the broker logs'));
}
