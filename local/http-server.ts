import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { SLACK_ROUTE, USER_ROUTES } from '../lib/broker-api.ts';

/** The local-only header that names the caller. The deployed API never reads it (it uses SigV4). */
export const LOCAL_PRINCIPAL_HEADER = 'x-jit-principal';

const MAX_BODY_BYTES = 256 * 1024;

/** Extra local routes (`/_local/*`), answered with JSON. */
export type LocalRoutes = Readonly<Record<string, () => unknown>>;

interface MatchedRoute {
  readonly resource: string;
  readonly pathParameters: Record<string, string> | null;
}

/** Matches a concrete path against the API's resource templates (`/requests/{id}/approve`). */
export function matchRoute(method: string, path: string): MatchedRoute | undefined {
  const parts = path.split('/').filter(Boolean);
  for (const route of USER_ROUTES) {
    if (route.method !== method) continue;
    const tpl = route.path.split('/').filter(Boolean);
    if (tpl.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = tpl.every((t, i) => {
      const part = parts[i] ?? '';
      if (t.startsWith('{') && t.endsWith('}')) {
        params[t.slice(1, -1)] = decodeURIComponent(part);
        return true;
      }
      return t === part;
    });
    if (ok) return { resource: route.path, pathParameters: Object.keys(params).length ? params : null };
  }
  return undefined;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const error = (code: string, message: string) => ({ error: { code, message } });

/** Reads a request body, or undefined once it exceeds `maxBytes` (the caller answers 413). */
export async function readRawBody(
  req: IncomingMessage,
  maxBytes = MAX_BODY_BYTES,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  return (await readRawBody(req))?.toString('utf8');
}

type Handler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** True for a Host header naming this machine's loopback (any port). */
export function isLoopbackHost(host: string | undefined): boolean {
  return /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?$/i.test(host ?? '');
}

/**
 * `POST /slack/interactions` as API Gateway delivers it to the Slack function: no IAM identity and no
 * local principal header (Slack's signature is the authentication), the body base64-encoded byte for byte.
 */
async function slackRoute(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  slack: Handler,
): Promise<void> {
  const body = await readRawBody(req);
  if (body === undefined)
    return send(res, 413, error('PayloadTooLarge', `body exceeds ${MAX_BODY_BYTES} bytes`));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k !== LOCAL_PRINCIPAL_HEADER && typeof v === 'string') headers[k] = v;
  }
  const event = {
    httpMethod: SLACK_ROUTE.method,
    resource: SLACK_ROUTE.path,
    path: url.pathname,
    pathParameters: null,
    queryStringParameters: null,
    headers,
    body: body.toString('base64'),
    isBase64Encoded: true,
    requestContext: { identity: {} },
  } as unknown as APIGatewayProxyEvent;
  const out = await slack(event);
  send(res, out.statusCode, out.body, (out.headers ?? {}) as Record<string, string>);
}

/**
 * The HTTP contract of DESIGN.md on 127.0.0.1, in front of the same API handler that runs in Lambda. The
 * request becomes an API Gateway proxy event whose `requestContext.identity.userArn` comes from the
 * local-only `x-jit-principal` header; a request without it is refused, never given a default identity.
 */
export function createLocalServer(
  api: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>,
  localRoutes: LocalRoutes,
  slack?: Handler,
): Server {
  return createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = req.method ?? 'GET';
      // Only this machine may talk to the broker: a web page that rebinds its DNS name to 127.0.0.1 sends
      // its own name as Host, and is refused before it can act with a local identity header.
      if (!isLoopbackHost(req.headers.host)) {
        return send(
          res,
          403,
          error('Forbidden', 'the local runtime answers requests to 127.0.0.1 or localhost only'),
        );
      }
      const local = localRoutes[url.pathname];
      if (local && method === 'GET') return send(res, 200, local());
      if (slack && method === SLACK_ROUTE.method && url.pathname === SLACK_ROUTE.path) {
        return slackRoute(req, res, url, slack);
      }
      const route = matchRoute(method, url.pathname);
      if (!route) return send(res, 404, error('NotFound', `no route ${method} ${url.pathname}`));
      const principal = req.headers[LOCAL_PRINCIPAL_HEADER];
      if (typeof principal !== 'string' || principal.trim() === '') {
        return send(
          res,
          401,
          error(
            'Unauthenticated',
            `the local runtime needs the caller in the ${LOCAL_PRINCIPAL_HEADER} header`,
          ),
        );
      }
      const body = await readBody(req);
      if (body === undefined)
        return send(res, 413, error('PayloadTooLarge', `body exceeds ${MAX_BODY_BYTES} bytes`));
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (k !== LOCAL_PRINCIPAL_HEADER && typeof v === 'string') headers[k] = v;
      }
      const event = {
        httpMethod: method,
        resource: route.resource,
        path: url.pathname,
        pathParameters: route.pathParameters,
        queryStringParameters: Object.fromEntries(url.searchParams),
        headers,
        body: body.length ? body : null,
        isBase64Encoded: false,
        requestContext: { identity: { userArn: principal.trim() } },
      } as unknown as APIGatewayProxyEvent;
      const out = await api(event);
      send(res, out.statusCode, out.body, (out.headers ?? {}) as Record<string, string>);
    })().catch((e: unknown) => {
      console.error('local server error', e);
      if (!res.headersSent)
        send(res, 500, error('InternalError', 'internal error; see the local runtime log'));
    });
  });
}
