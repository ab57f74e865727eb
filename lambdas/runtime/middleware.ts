import type { MiddlewareObj } from '@middy/core';
import { log, logContext } from './logger.ts';

/** A broker request id as the broker issues them (the API's own path check uses the same shape). */
const REQUEST_ID = /^[A-Za-z0-9-]{1,80}$/;

/**
 * The broker request an event is about, when the event says so without parsing a body: the state
 * machine's step payloads and the API's early revokes carry `requestId`; the API's `/requests/{id}…`
 * routes carry `pathParameters.id`. A Slack click names its request only inside the signed body, which is
 * not read before the signature is checked; the Slack handler logs the id itself once it is.
 */
export function brokerRequestIdOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as { requestId?: unknown; pathParameters?: { id?: unknown } | null };
  const id = typeof e.requestId === 'string' ? e.requestId : e.pathParameters?.id;
  return typeof id === 'string' && REQUEST_ID.test(id) ? id : undefined;
}

/**
 * The middleware of every Lambda entry: for the length of one invocation, every log line (`log.info`,
 * `log.error`, outcome metrics) carries the Lambda request id (`awsRequestId`), the broker request id when
 * the event names one (`requestId`), and on the first invocation of this execution environment
 * `coldStart: true`. The cold start is also logged once ("cold start"), so it shows even for a step that
 * logs nothing else.
 */
export function invocationLog<TEvent = unknown, TResult = unknown>(): MiddlewareObj<TEvent, TResult> {
  let coldStart = true;
  return {
    name: 'invocationLog',
    before: (request) => {
      const requestId = brokerRequestIdOf(request.event);
      // `context` may be missing when a harness calls the handler with the event alone.
      const awsRequestId: string | undefined = request.context?.awsRequestId;
      logContext.set({
        ...(awsRequestId ? { awsRequestId } : {}),
        ...(requestId ? { requestId } : {}),
        ...(coldStart ? { coldStart: true } : {}),
      });
      if (coldStart) log.info('cold start');
      coldStart = false;
    },
    after: () => {
      logContext.clear();
    },
    onError: () => {
      logContext.clear();
    },
  };
}
