import { ConflictError, RetryableAwsError } from '#core/errors.ts';
import type { RevokeResult } from '#core/model.ts';
import type { Revocations } from '#core/ports.ts';
import { type SigningContext, signedPost } from './signed-fetch.ts';

/** Errors of the revoke function worth another try by the caller (throttling, read-back lag). */
const RETRYABLE = new Set(['RetryableAwsError', 'VerificationError', 'TransitionRefusedError']);

/** Where and as whom the revoke function is invoked. */
export interface LambdaRevocationsOptions extends SigningContext {
  readonly functionName: string;
}

/**
 * Revocations by the revoke function: one synchronous Lambda Invoke (the caller gets the outcome) with
 * `{action: 'early', requestId, actor, reason}`, signed with SigV4 by the SDK's own signer and the
 * function's own credentials. A plain signed request rather than the Lambda client: that client adds about
 * 70 KiB to the API bundle for this one call. The revoke function's errors come back by name and are turned
 * into the domain errors the API maps: a request that holds no grant any more is 409, a transient failure
 * 503, anything else 500.
 */
export class LambdaRevocations implements Revocations {
  readonly #opts: LambdaRevocationsOptions;

  constructor(opts: LambdaRevocationsOptions) {
    this.#opts = opts;
  }

  async revoke(requestId: string, actor: string, reason: string): Promise<RevokeResult> {
    const response = await signedPost(this.#opts, {
      service: 'lambda',
      host: (region) => `lambda.${region}.amazonaws.com`,
      path: `/2015-03-31/functions/${encodeURIComponent(this.#opts.functionName)}/invocations`,
      headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
      body: JSON.stringify({ action: 'early', requestId, actor, reason }),
    });
    const text = await response.text();
    if (response.status === 429 || response.status >= 500) {
      throw new RetryableAwsError(`lambda:Invoke answered ${response.status} (retryable)`);
    }
    if (!response.ok) throw new Error(`lambda:Invoke answered ${response.status}: ${text.slice(0, 300)}`);
    const payload = JSON.parse(text || 'null') as unknown;
    if (!response.headers.get('x-amz-function-error')) return payload as RevokeResult;
    const { errorType = 'Error', errorMessage = 'the revoke function failed' } = (payload ?? {}) as {
      errorType?: string;
      errorMessage?: string;
    };
    if (errorType === 'ConflictError') throw new ConflictError('NotGranted', errorMessage);
    if (RETRYABLE.has(errorType)) throw new RetryableAwsError(`revoke did not finish (${errorType}): retry`);
    throw new Error(`revoke function: ${errorType}: ${errorMessage}`);
  }
}
