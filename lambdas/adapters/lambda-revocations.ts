import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ConflictError, RetryableAwsError } from '#core/errors.ts';
import type { RevokeResult } from '#core/model.ts';
import type { Revocations } from '#core/ports.ts';

/** Errors of the revoke function worth another try by the caller (throttling, read-back lag). */
const RETRYABLE = new Set(['RetryableAwsError', 'VerificationError', 'TransitionRefusedError']);

/**
 * Revocations by the revoke function: a synchronous invoke (the caller gets the outcome, as before) with
 * `{action: 'early', requestId, actor, reason}`. The revoke function's errors come back by name and are
 * turned into the domain errors the API maps: a request that holds no grant any more is 409, a transient
 * failure 503, anything else 500.
 */
export class LambdaRevocations implements Revocations {
  readonly #lambda: LambdaClient;
  readonly #functionName: string;

  constructor(lambda: LambdaClient, functionName: string) {
    this.#lambda = lambda;
    this.#functionName = functionName;
  }

  async revoke(requestId: string, actor: string, reason: string): Promise<RevokeResult> {
    const out = await this.#lambda.send(
      new InvokeCommand({
        FunctionName: this.#functionName,
        InvocationType: 'RequestResponse',
        Payload: Buffer.from(JSON.stringify({ action: 'early', requestId, actor, reason })),
      }),
    );
    const payload = JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8') || 'null');
    if (!out.FunctionError) return payload as RevokeResult;
    const { errorType = 'Error', errorMessage = 'the revoke function failed' } = (payload ?? {}) as {
      errorType?: string;
      errorMessage?: string;
    };
    if (errorType === 'ConflictError') throw new ConflictError('NotGranted', errorMessage);
    if (RETRYABLE.has(errorType)) throw new RetryableAwsError(`revoke did not finish (${errorType}): retry`);
    throw new Error(`revoke function: ${errorType}: ${errorMessage}`);
  }
}
