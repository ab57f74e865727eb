import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { matchPath, SLACK_ROUTE } from '#lambdas/api/contract.ts';

/** The local-only header that names the caller. The deployed API never reads it (it uses SigV4). */
export const LOCAL_PRINCIPAL_HEADER = 'x-jit-principal';

const MAX_BODY_BYTES = 256 * 1024;

/** Extra local routes (`/_local/*`), answered with JSON. */
export type LocalRoutes = Readonly<Record<string, (query: URLSearchParams) => unknown>>;

/** What a `POST /_local/*` route answers: a status and a JSON body. */
export interface LocalAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * A `POST /_local/*` route: it gets the body parsed as JSON (a body that is not JSON is answered 400 before
 * it is called) and answers with the same error envelope as the API (see {@link localError}).
 */
export interface LocalPostRoute {
  /** The largest body accepted (413 beyond). @default 256 KiB, as the API */
  readonly maxBytes?: number;
  handle(body: unknown): Promise<LocalAnswer>;
}

/** `POST /_local/*` routes by path. */
export type LocalPostRoutes = Readonly<Record<string, LocalPostRoute>>;

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const error = (code: string, message: string, details?: readonly { field: string; message: string }[]) => ({
  error: { code, message, ...(details ? { details } : {}) },
});

/** The error envelope of the API and of every `/_local/*` route: `{"error":{"code","message","details?"}}`. */
export const localError = error;

/** The path and its `%` escapes, or undefined when it cannot be parsed or decoded (the caller answers 400). */
function parsePath(rawUrl: string | undefined): URL | undefined {
  try {
    const url = new URL(rawUrl ?? '/', 'http://127.0.0.1');
    decodeURIComponent(url.pathname);
    return url;
  } catch {
    return undefined;
  }
}

/**
 * How much of an oversized body is read and thrown away before the 413 goes out. Answering while the client
 * is still sending makes the close a reset, which can cost the client the answer; past this much, the
 * answer goes out anyway.
 */
const DISCARD_BYTES = 64 * 1024 * 1024;

/**
 * Reads a request body, or undefined once it exceeds `maxBytes` (the caller answers 413, see
 * {@link sendTooLarge}). The rest of an oversized body is read and discarded, never left unread: closing a
 * socket with unread data resets the connection and can take the 413 with it.
 */
export function readRawBody(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else chunks = [];
      // Keep the stream flowing (data is dropped) so the socket is drained until it is closed.
      if (size > maxBytes + DISCARD_BYTES) resolve(undefined);
    };
    req.on('data', onData);
    req.once('end', () => resolve(size > maxBytes ? undefined : Buffer.concat(chunks)));
    req.once('error', reject);
    // A client that goes away mid-body: no-op once 'end' has resolved.
    req.once('close', () => reject(new Error('the request was closed before its body ended')));
  });
}

/** 413 that also ends the connection: the client must not send its next request on it. */
function sendTooLarge(res: ServerResponse, maxBytes = MAX_BODY_BYTES): void {
  // `Connection: close` makes Node end the socket once this response is flushed (not before).
  send(res, 413, error('PayloadTooLarge', `body exceeds ${maxBytes} bytes`), { connection: 'close' });
}

/** A `POST /_local/*` route: the JSON body in (400 when it is not JSON), the route's answer out. */
async function localPostRoute(
  req: IncomingMessage,
  res: ServerResponse,
  route: LocalPostRoute,
): Promise<void> {
  const maxBytes = route.maxBytes ?? MAX_BODY_BYTES;
  const raw = await readRawBody(req, maxBytes);
  if (raw === undefined) return sendTooLarge(res, maxBytes);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return send(
      res,
      400,
      error('InvalidRequest', 'the body is not JSON', [
        { field: 'body', message: 'must be a JSON document' },
      ]),
    );
  }
  const out = await route.handle(body);
  send(res, out.status, out.body);
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
  if (body === undefined) return sendTooLarge(res);
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
  localPosts: LocalPostRoutes = {},
): Server {
  return createServer((req, res) => {
    void (async () => {
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
      const url = parsePath(req.url);
      if (!url) {
        return send(
          res,
          400,
          error('InvalidRequest', 'the request path is not a valid URL path', [
            {
              field: 'path',
              message: 'malformed percent-encoding (a "%" must start a UTF-8 escape like %2F)',
            },
          ]),
        );
      }
      const local = localRoutes[url.pathname];
      if (local && method === 'GET') return send(res, 200, local(url.searchParams));
      const post = localPosts[url.pathname];
      if (post && method === 'POST') return localPostRoute(req, res, post);
      const match = matchPath(method, url.pathname);
      // Slack's URL matches only as configured in Slack, to the byte; without a Slack handler it is no route.
      if (slack && match?.route.auth === 'slack-signature' && url.pathname === match.route.path) {
        return slackRoute(req, res, url, slack);
      }
      if (match?.route.auth !== 'iam') {
        return send(res, 404, error('NotFound', `no route ${method} ${url.pathname}`));
      }
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
      if (body === undefined) return sendTooLarge(res);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (k !== LOCAL_PRINCIPAL_HEADER && typeof v === 'string') headers[k] = v;
      }
      const event = {
        httpMethod: method,
        resource: match.route.path,
        path: url.pathname,
        pathParameters: Object.keys(match.params).length ? match.params : null,
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
