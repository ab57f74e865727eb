import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import * as z from 'zod/mini';
import { BrokerError, InvalidRequestError } from '#core/errors.ts';
import { collectCredentials } from '#core/grants/sts-credentials/credentials.ts';
import { toPublic } from '#core/model.ts';
import type { Deps } from '#core/ports.ts';
import { cancelRequest, decide, getRequest, submitRequest } from '#core/requests/requests.ts';
import { parseWith } from '#core/schema.ts';
import { revokeEarly } from '#core/workflow/steps.ts';
import { errorBody, json, toErrorResponse } from './http.ts';

/** Thrown when API Gateway handed us no IAM identity (cannot happen behind AWS_IAM auth). */
class UnauthenticatedError extends BrokerError {
  override readonly name = 'UnauthenticatedError';
  readonly code = 'Unauthenticated';
}

const approveBody = z.strictObject({ comment: z.optional(z.string().check(z.maxLength(1000))) });
const denyBody = z.strictObject({ reason: z.string().check(z.trim(), z.minLength(1), z.maxLength(1000)) });
const revokeBody = z.strictObject({ reason: z.optional(z.string().check(z.maxLength(1000))) });
const emptyBody = z.strictObject({});
/** `GET /requests?limit=&next=`: page size 1-100 (default 50) and the previous page's `next`. */
const listQuery = z.strictObject({
  limit: z.optional(z.string().check(z.regex(/^(?:[1-9]\d?|100)$/, 'must be a whole number from 1 to 100'))),
  next: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
});

function invalid(issues: { field: string; message: string }[]) {
  const first = issues[0];
  return new InvalidRequestError(first ? `${first.field} ${first.message}` : 'invalid body', issues);
}

function parseJson(event: APIGatewayProxyEvent): unknown {
  if (!event.body) return {};
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError('body is not valid JSON', [
      { field: '(body)', message: 'is not valid JSON' },
    ]);
  }
}

/**
 * The caller is the IAM principal API Gateway authenticated (SigV4). Never a header, never the body: the
 * local runtime builds this same field from its own local-only header before calling us.
 */
function callerOf(event: APIGatewayProxyEvent): string {
  const arn = event.requestContext?.identity?.userArn;
  if (!arn) throw new UnauthenticatedError('no authenticated IAM identity on the request');
  return arn;
}

function idOf(event: APIGatewayProxyEvent): string {
  const id = event.pathParameters?.id;
  if (!id || !/^[A-Za-z0-9-]{1,80}$/.test(id)) {
    throw new InvalidRequestError('invalid request id', [{ field: 'id', message: 'is not a request id' }]);
  }
  return id;
}

/** Creates the REST API handler over injected deps. */
export function createApiHandler(deps: Deps) {
  const routes: Record<string, (e: APIGatewayProxyEvent, caller: string) => Promise<APIGatewayProxyResult>> =
    {
      'POST /requests': async (e, caller) => json(202, await submitRequest(deps, caller, parseJson(e))),
      'GET /requests': async (e, caller) => {
        const query = parseWith(listQuery, e.queryStringParameters ?? {}, invalid);
        const page = await deps.store.listByRequester(caller, Number(query.limit ?? 50), query.next);
        return json(200, {
          requests: page.items.map(toPublic),
          ...(page.next === undefined ? {} : { next: page.next }),
        });
      },
      'GET /requests/{id}': async (e, caller) => json(200, await getRequest(deps, caller, idOf(e))),
      'POST /requests/{id}/approve': async (e, caller) => {
        const body = parseWith(approveBody, parseJson(e), invalid);
        return json(200, await decide(deps, caller, idOf(e), 'approve', body.comment));
      },
      'POST /requests/{id}/deny': async (e, caller) => {
        const body = parseWith(denyBody, parseJson(e), invalid);
        return json(200, await decide(deps, caller, idOf(e), 'deny', body.reason));
      },
      'POST /requests/{id}/cancel': async (e, caller) => {
        parseWith(emptyBody, parseJson(e), invalid);
        return json(200, { requestId: idOf(e), ...(await cancelRequest(deps, caller, idOf(e))) });
      },
      'GET /requests/{id}/credentials': async (e, caller) =>
        json(200, await collectCredentials(deps, caller, idOf(e))),
      'POST /requests/{id}/revoke': async (e, caller) => {
        const body = parseWith(revokeBody, parseJson(e), invalid);
        return json(202, await revokeEarly(deps, caller, idOf(e), body.reason));
      },
    };

  return async function apiHandler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const route = routes[`${event.httpMethod} ${event.resource}`];
    if (!route) return json(404, errorBody('NotFound', `no route ${event.httpMethod} ${event.resource}`));
    try {
      return await route(event, callerOf(event));
    } catch (error) {
      return toErrorResponse(error, event.pathParameters?.id);
    }
  };
}
