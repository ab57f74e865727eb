import type { ActivityQuery, ActivityResult } from '#core/audit/activity.ts';
import { RetryableAwsError } from '#core/errors.ts';
import type { Activity } from '#core/ports.ts';
import { type SigningContext, signedPost } from './signed-fetch.ts';

/** About 500 bytes a record: well inside the 6 MB of a synchronous response. */
const FIND_MAX_EVENTS = 8000;

/**
 * A synchronous Invoke answers at most 6 MB: an on-demand read keeps its first records (by time) within
 * that, and says so (the stored review, built in this function, always sees them all).
 */
export function withinInvokeLimit(result: ActivityResult, maxEvents = FIND_MAX_EVENTS): ActivityResult {
  if (result.events.length <= maxEvents) return result;
  return {
    events: result.events.slice(0, maxEvents),
    sources: [
      ...result.sources,
      {
        name: 'review-function',
        eventClasses: [],
        calls: 0,
        events: result.events.length,
        error: `on-demand read cut to the first ${maxEvents} of ${result.events.length} records; the stored review has them all`,
      },
    ],
  };
}

/** Where and as whom the review function is invoked. */
export interface LambdaActivityOptions extends SigningContext {
  readonly functionName: string;
}

/**
 * Activity read by the review function: one synchronous Invoke with `{action: 'find', query}`. The API
 * function answers `GET /requests/{id}/review` on demand but holds no STS permission: the review function,
 * which may assume the grantor roles and query Athena, reads CloudTrail for it. A plain SigV4-signed
 * request (the SDK's signer), like the early revokes, so the API bundle carries no Lambda client.
 */
export class LambdaActivity implements Activity {
  readonly #opts: LambdaActivityOptions;

  constructor(opts: LambdaActivityOptions) {
    this.#opts = opts;
  }

  async find(query: ActivityQuery): Promise<ActivityResult> {
    const response = await signedPost(this.#opts, {
      service: 'lambda',
      host: (region) => `lambda.${region}.amazonaws.com`,
      path: `/2015-03-31/functions/${encodeURIComponent(this.#opts.functionName)}/invocations`,
      headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
      body: JSON.stringify({ action: 'find', query }),
    });
    const text = await response.text();
    if (response.status === 429 || response.status >= 500) {
      throw new RetryableAwsError(`lambda:Invoke answered ${response.status} (retryable)`);
    }
    if (!response.ok) throw new Error(`lambda:Invoke answered ${response.status}: ${text.slice(0, 300)}`);
    const payload = JSON.parse(text || 'null') as unknown;
    if (response.headers.get('x-amz-function-error')) {
      const { errorType = 'Error', errorMessage = 'the review function failed' } = (payload ?? {}) as {
        errorType?: string;
        errorMessage?: string;
      };
      // The review still answers: with no source read, and why.
      return {
        events: [],
        sources: [
          {
            name: 'review-function',
            eventClasses: [],
            calls: 1,
            events: 0,
            error: `${errorType}: ${errorMessage}`,
          },
        ],
      };
    }
    return payload as ActivityResult;
  }
}
