import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type * as z from 'zod/mini';
import { BrokerError, InvalidRequestError } from '#core/errors.ts';
import { toPublic } from '#core/model.ts';
import type { Deps } from '#core/ports.ts';
import { breakGlassReviewsDue, reviewBreakGlass } from '#core/requests/break-glass.ts';
import { collectCredentials } from '#core/requests/collect-credentials.ts';
import { extendRequest } from '#core/requests/extend.ts';
import { pendingApprovals } from '#core/requests/pending-approvals.ts';
import { cancelRequest, decide, getRequest, submitRequest } from '#core/requests/requests.ts';
import { getReview, listRequests } from '#core/requests/review.ts';
import { eligibleRules } from '#core/requests/rules.ts';
import { verifyEvidenceDigests } from '#core/requests/verify-digests.ts';
import { verifyRequestEvidence } from '#core/requests/verify-evidence.ts';
import { parseWith } from '#core/schema.ts';
import { revokeEarly } from '#core/workflow/steps.ts';
import { type RouteKey, routeKey, USER_ROUTES, type UserRoute } from './contract.ts';
import { errorBody, json, toErrorResponse } from './http.ts';

/** Thrown when API Gateway handed us no IAM identity (cannot happen behind AWS_IAM auth). */
class UnauthenticatedError extends BrokerError {
  override readonly name = 'UnauthenticatedError';
  readonly code = 'Unauthenticated';
}

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

/** What a route's function gets: its body and query already checked against the contract. */
interface RouteInput<R extends UserRoute> {
  readonly deps: Deps;
  readonly event: APIGatewayProxyEvent;
  /** The SigV4-authenticated caller. */
  readonly caller: string;
  readonly body: R['body'] extends z.ZodMiniType ? z.output<R['body']> : unknown;
  readonly query: R extends { query: infer Q extends z.ZodMiniType } ? z.output<Q> : undefined;
}

/** A route's function returns the success body; the contract gives the status. */
type RouteFn<R extends UserRoute> = (input: RouteInput<R>) => Promise<unknown>;

/** One function per user route of the contract: a route without one, or one without a route, is a type error. */
type RouteTable = { readonly [R in UserRoute as RouteKey<R>]: RouteFn<R> };

const routes: RouteTable = {
  'POST /requests': async ({ deps, caller, body }) => submitRequest(deps, caller, body),
  'GET /requests': async ({ deps, caller, query }) => {
    const page = await listRequests(deps, caller, {
      limit: Number(query.limit ?? 50),
      ...(query.next ? { next: query.next } : {}),
      ...(query.status ? { status: query.status } : {}),
      ...(query.since ? { since: new Date(query.since).toISOString() } : {}),
      ...(query.rule ? { rule: query.rule } : {}),
    });
    return { requests: page.items.map(toPublic), ...(page.next === undefined ? {} : { next: page.next }) };
  },
  'GET /rules': async ({ deps, caller }) => ({ rules: eligibleRules(deps.config, caller) }),
  'GET /pending': async ({ deps, caller }) => {
    const [requests, reviews] = await Promise.all([
      pendingApprovals(deps, caller),
      breakGlassReviewsDue(deps, caller),
    ]);
    return { requests, reviews };
  },
  'GET /requests/{id}': async ({ deps, event, caller }) => getRequest(deps, caller, idOf(event)),
  'POST /requests/{id}/approve': async ({ deps, event, caller, body }) =>
    decide(deps, caller, idOf(event), 'approve', body.comment),
  'POST /requests/{id}/deny': async ({ deps, event, caller, body }) =>
    decide(deps, caller, idOf(event), 'deny', body.reason),
  'POST /requests/{id}/cancel': async ({ deps, event, caller }) => ({
    requestId: idOf(event),
    ...(await cancelRequest(deps, caller, idOf(event))),
  }),
  'POST /requests/{id}/revoke': async ({ deps, event, caller, body }) =>
    revokeEarly(deps, caller, idOf(event), body.reason),
  'POST /requests/{id}/extend': async ({ deps, event, caller, body }) =>
    extendRequest(deps, caller, idOf(event), body),
  'GET /requests/{id}/verify': async ({ deps, event, caller }) =>
    verifyRequestEvidence(deps, caller, idOf(event)),
  'GET /requests/{id}/review': async ({ deps, event, caller }) => getReview(deps, caller, idOf(event)),
  'POST /requests/{id}/review': async ({ deps, event, caller, body }) =>
    reviewBreakGlass(deps, caller, idOf(event), body),
  'GET /evidence/digests': async ({ deps, caller, query }) =>
    verifyEvidenceDigests(deps, caller, Number(query.since ?? 30)),
  'GET /requests/{id}/credentials': async ({ deps, event, caller }) =>
    collectCredentials(deps, caller, idOf(event)),
};

/** The route keys the API function answers (for the contract test). */
export const API_ROUTE_KEYS: readonly string[] = Object.keys(routes);

interface Dispatch {
  readonly route: UserRoute;
  readonly run: (input: RouteInput<UserRoute>) => Promise<unknown>;
}

/** Contract route → its function. A Map, so no request can reach an `Object.prototype` member. */
const dispatch = new Map<string, Dispatch>(
  USER_ROUTES.map((route) => {
    const key = routeKey(route.method, route.path) as RouteKey<UserRoute>;
    // Unreachable while the table type-checks; kept so a cast cannot ship a route that answers nothing.
    const run = routes[key] as Dispatch['run'] | undefined;
    if (!run) throw new Error(`the API handler has no function for ${key}`);
    return [key, { route, run }];
  }),
);

/** The body as the route's contract says: not read, handed to the core, or checked against its schema. */
function bodyOf(route: UserRoute, event: APIGatewayProxyEvent): unknown {
  if (route.body === 'none') return undefined;
  if (route.body === 'core') return parseJson(event);
  return parseWith(route.body, parseJson(event), invalid);
}

/** Creates the REST API handler over injected deps. */
export function createApiHandler(deps: Deps) {
  return async function apiHandler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const entry = dispatch.get(`${event.httpMethod} ${event.resource}`);
    if (!entry) return json(404, errorBody('NotFound', `no route ${event.httpMethod} ${event.resource}`));
    const { route, run } = entry;
    try {
      const caller = callerOf(event);
      const body = bodyOf(route, event);
      const query =
        'query' in route ? parseWith(route.query, event.queryStringParameters ?? {}, invalid) : undefined;
      return json(route.success, await run({ deps, event, caller, body, query } as RouteInput<UserRoute>));
    } catch (error) {
      return toErrorResponse(error, event.pathParameters?.id);
    }
  };
}
