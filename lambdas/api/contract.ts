import * as z from 'zod/mini';
import { STATUSES } from '../core/lifecycle.ts';

/**
 * The HTTP contract of DESIGN.md, declared once. The CDK API, the API handler, the local runtime and the CLI
 * all read it, so a route cannot exist in one and be missing from another. Pure: no CDK, no `aws-lambda`
 * types, no SDK.
 */

/** The HTTP methods the contract uses. */
export type HttpMethod = 'GET' | 'POST';

/**
 * Who may call a route. A label for readers and tools: the core enforces it (the route only authenticates).
 * `caller` is any authenticated caller (the core checks eligibility where it matters).
 */
export type RouteCaller =
  | 'caller'
  | 'requester'
  | 'approvers'
  | 'requester-or-approvers'
  /** The requester, the approvers of its rule, the auditors (and break-glass reviewers for break-glass). */
  | 'readers'
  /** `breakGlass.reviewers`, never the requester. */
  | 'break-glass-reviewers'
  | 'slack';

/**
 * How a route authenticates its caller: SigV4 checked by API Gateway (`AWS_IAM`), or Slack's HMAC request
 * signature checked by the Slack function (Slack cannot SigV4-sign, so API Gateway lets it through).
 */
export type RouteAuth = 'iam' | 'slack-signature';

/**
 * How a route's body is checked before its function runs: a strict JSON-object schema; `'core'` for JSON
 * handed as is to the core, which validates it (`validateRequest`); `'none'` when the body is not read;
 * `'slack-form'` for Slack's signed form body, verified and parsed by the Slack function.
 */
export type BodyContract = z.ZodMiniType | 'core' | 'none' | 'slack-form';

/** One route of the contract. */
export interface RouteContract {
  readonly method: HttpMethod;
  /** API Gateway resource template; `{name}` is a path parameter. */
  readonly path: `/${string}`;
  readonly who: RouteCaller;
  readonly auth: RouteAuth;
  readonly body: BodyContract;
  /** The query string's schema; a route without one ignores its query string. */
  readonly query?: z.ZodMiniType;
  /** The status of a successful answer. */
  readonly success: 200 | 202;
}

/** `POST /requests/{id}/approve`: an optional comment for the audit trail. */
export const approveBody = z.strictObject({ comment: z.optional(z.string().check(z.maxLength(1000))) });
/** `POST /requests/{id}/deny`: a reason is required. */
export const denyBody = z.strictObject({
  reason: z.string().check(z.trim(), z.minLength(1), z.maxLength(1000)),
});
/** `POST /requests/{id}/revoke`: an optional reason. */
export const revokeBody = z.strictObject({ reason: z.optional(z.string().check(z.maxLength(1000))) });
/** A route that takes no fields, but refuses unknown ones. */
export const emptyBody = z.strictObject({});
/**
 * `GET /requests?limit=&next=&status=&since=&rule=`: page size 1-100 (default 50), the previous page's
 * `next`, and filters: an auditor's filtered listing spans every requester, anyone else's their own.
 */
export const listQuery = z.strictObject({
  limit: z.optional(z.string().check(z.regex(/^(?:[1-9]\d?|100)$/, 'must be a whole number from 1 to 100'))),
  next: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  status: z.optional(z.enum(STATUSES)),
  since: z.optional(
    z.string().check(
      z.regex(
        /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/,
        'must be an ISO 8601 instant in UTC (2026-11-01T00:00:00Z)',
      ),
      z.refine((v) => !Number.isNaN(Date.parse(v)), 'must be a real date'),
    ),
  ),
  rule: z.optional(z.string().check(z.regex(/^[a-zA-Z0-9-_]{1,64}$/, 'must be a rule id'))),
});

/** `GET /evidence/digests?since=<days>`: the window of the digest chain to check, in whole days. */
export const digestQuery = z.strictObject({
  since: z.optional(
    z
      .string()
      .check(
        z.regex(
          /^(?:[1-9]\d{0,2}|[1-2]\d{3}|3[0-5]\d\d|36[0-4]\d|3650)$/,
          'must be a whole number of days from 1 to 3650',
        ),
      ),
  ),
});

/** The user routes, in the order the API builds them; every one requires SigV4 (AWS_IAM). */
export const USER_ROUTES = [
  { method: 'POST', path: '/requests', who: 'caller', auth: 'iam', body: 'core', success: 202 },
  {
    method: 'GET',
    path: '/requests',
    who: 'caller',
    auth: 'iam',
    body: 'none',
    query: listQuery,
    success: 200,
  },
  { method: 'GET', path: '/rules', who: 'caller', auth: 'iam', body: 'none', success: 200 },
  { method: 'GET', path: '/pending', who: 'approvers', auth: 'iam', body: 'none', success: 200 },
  {
    method: 'GET',
    path: '/requests/{id}',
    who: 'requester-or-approvers',
    auth: 'iam',
    body: 'none',
    success: 200,
  },
  {
    method: 'POST',
    path: '/requests/{id}/approve',
    who: 'approvers',
    auth: 'iam',
    body: approveBody,
    success: 200,
  },
  {
    method: 'POST',
    path: '/requests/{id}/deny',
    who: 'approvers',
    auth: 'iam',
    body: denyBody,
    success: 200,
  },
  {
    method: 'POST',
    path: '/requests/{id}/cancel',
    who: 'requester',
    auth: 'iam',
    body: emptyBody,
    success: 200,
  },
  {
    method: 'POST',
    path: '/requests/{id}/revoke',
    who: 'requester-or-approvers',
    auth: 'iam',
    body: revokeBody,
    success: 202,
  },
  {
    method: 'POST',
    path: '/requests/{id}/extend',
    who: 'requester',
    auth: 'iam',
    body: 'core',
    success: 202,
  },
  {
    method: 'GET',
    path: '/requests/{id}/verify',
    who: 'requester-or-approvers',
    auth: 'iam',
    body: 'none',
    success: 200,
  },
  {
    method: 'GET',
    path: '/requests/{id}/review',
    who: 'readers',
    auth: 'iam',
    body: 'none',
    success: 200,
  },
  {
    method: 'POST',
    path: '/requests/{id}/review',
    who: 'break-glass-reviewers',
    auth: 'iam',
    body: 'core',
    success: 200,
  },
  {
    method: 'GET',
    path: '/evidence/digests',
    who: 'approvers',
    auth: 'iam',
    body: 'none',
    query: digestQuery,
    success: 200,
  },
  {
    method: 'GET',
    path: '/requests/{id}/credentials',
    who: 'requester',
    auth: 'iam',
    body: 'none',
    success: 200,
  },
] as const satisfies readonly RouteContract[];

/** Slack's interactivity request URL (exists only when Slack is configured); answered by the Slack function. */
export const SLACK_ROUTE = {
  method: 'POST',
  path: '/slack/interactions',
  who: 'slack',
  auth: 'slack-signature',
  body: 'slack-form',
  success: 200,
} as const satisfies RouteContract;

/** Every route of the contract. */
export const ROUTES = [...USER_ROUTES, SLACK_ROUTE] as const;

/** A route of the contract. */
export type Route = (typeof ROUTES)[number];
/** A route the API function answers. */
export type UserRoute = (typeof USER_ROUTES)[number];
/** `"METHOD /path/{param}"`, the key API Gateway's `httpMethod` and `resource` make. */
export type RouteKey<R extends Pick<RouteContract, 'method' | 'path'> = Route> = R extends unknown
  ? `${R['method']} ${R['path']}`
  : never;

/** The key of a route: `routeKey('GET', '/requests/{id}')` is `'GET /requests/{id}'`. */
export function routeKey<M extends string, P extends string>(method: M, path: P): `${M} ${P}` {
  return `${method} ${path}`;
}

/** A concrete path matched against the contract. */
export interface PathMatch {
  readonly route: Route;
  /** The path parameters, `%`-decoded (`{}` for a route without any). */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * The route a concrete path (`/requests/req-1/approve`) answers, with its path parameters, or undefined.
 * Empty segments are ignored (`/requests/` is `/requests`). Throws `URIError` on a malformed `%` escape.
 */
export function matchPath(method: string, pathname: string): PathMatch | undefined {
  const parts = pathname.split('/').filter(Boolean);
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const template = route.path.split('/').filter(Boolean);
    if (template.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = template.every((segment, i) => {
      const part = parts[i] ?? '';
      if (segment.startsWith('{') && segment.endsWith('}')) {
        params[segment.slice(1, -1)] = decodeURIComponent(part);
        return true;
      }
      return segment === part;
    });
    if (ok) return { route, params };
  }
  return undefined;
}
