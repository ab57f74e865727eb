import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '#adapters/node-sha256.ts';
import { type RouteKey, routeKey, USER_ROUTES, type UserRoute } from '#lambdas/api/contract.ts';
import { isLoopbackHost, LOCAL_PRINCIPAL_HEADER } from '../local/http-server.ts';
import { CliError, EXIT, errorFromResponse } from './errors.ts';

/** The local runtime's default address (`npm start`). */
export const LOCAL_DEFAULT_URL = 'http://127.0.0.1:8787';

/** How long one HTTP call may take before it is given up. */
const CALL_TIMEOUT_MS = 30_000;

/** Credentials or a provider of them, as the SDK's signer takes them. */
export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

/** How the client reaches the broker and who it says it is. */
export interface ClientSettings {
  /** The API's URL, stage included; paths of the contract are appended to it. */
  readonly apiUrl: string;
  /**
   * The local runtime: the caller is sent in the `x-jit-principal` header instead of a SigV4 signature
   * (loopback URLs only).
   */
  readonly local?: { readonly principal: string };
  /** The region the signature is scoped to; default: the region in an `execute-api` host name. */
  readonly region?: string;
  /** The AWS profile of the credential chain (`fromNodeProviderChain`). */
  readonly profile?: string;
  /** Credentials to sign with instead of the chain (tests). */
  readonly credentials?: SigningCredentials;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** The signing time (tests). @default () => new Date() */
  readonly now?: () => Date;
}

/** A failed HTTP call: `status` 0 when no answer came back (network, timeout). */
export class HttpError extends CliError {
  readonly status: number;
  constructor(error: CliError, status: number) {
    super(error.message, error.exitCode);
    this.status = status;
  }

  /** True when trying again later may succeed (no answer, throttled, 5xx). */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/** The region in an API Gateway host name (`<id>.execute-api.<region>.amazonaws.com[.cn]`), if any. */
export function regionOfHost(hostname: string): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/i.exec(hostname)?.[1];
}

/** True for a URL whose host is this machine's loopback: 127.0.0.1, localhost or [::1] (any port). */
export function isLoopbackUrl(url: URL): boolean {
  return isLoopbackHost(url.host);
}

/** A request id as the API accepts it; anything else is refused before it can shape a path. */
export function requestId(text: string): string {
  if (!/^[A-Za-z0-9-]{1,80}$/.test(text)) {
    throw new CliError(`id "${text}" is not a request id (letters, digits and -)`, EXIT.INVALID);
  }
  return text;
}

/** SigV4's URI encoding (RFC 3986 unreserved characters kept), so the URL sent is the URL signed. */
function uriEscape(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The concrete path of a contract route, its `{params}` filled in (escaped). */
export function pathOf(key: RouteKey<UserRoute>, params: Readonly<Record<string, string>> = {}): string {
  const route = USER_ROUTES.find((r) => routeKey(r.method, r.path) === key);
  if (!route) throw new Error(`no route ${key} in the contract`);
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`route ${key} needs the parameter ${name}`);
    return uriEscape(value);
  });
}

/** Options of one call. */
export interface CallOptions {
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** Aborts the call (Ctrl-C during a wait). */
  readonly signal?: AbortSignal;
}

/**
 * The broker's HTTP API as `jit` calls it. Remote calls are SigV4-signed (`execute-api`) with the SDK's
 * credential chain; with `local`, the caller goes in the local runtime's `x-jit-principal` header instead,
 * and only ever to a loopback URL: the header is an identity claim anyone could make, so it must never
 * leave this machine.
 */
export class JitClient {
  readonly apiUrl: URL;
  readonly isLocal: boolean;
  readonly #settings: ClientSettings;
  readonly #region: string | undefined;
  #credentials: SigningCredentials | undefined;

  constructor(settings: ClientSettings) {
    let url: URL;
    try {
      url = new URL(settings.apiUrl);
    } catch {
      throw new CliError(`API URL "${settings.apiUrl}" is not a URL`, EXIT.INVALID);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new CliError(`API URL "${settings.apiUrl}" is not an http(s) URL`, EXIT.INVALID);
    }
    // First of all: the local identity header never goes anywhere but this machine.
    if (settings.local && !isLoopbackUrl(url)) {
      throw new CliError(
        `--local refuses to send ${LOCAL_PRINCIPAL_HEADER} to ${url.host}: only to 127.0.0.1, localhost or [::1]`,
        EXIT.FAILURE,
      );
    }
    if (url.username || url.password || url.search || url.hash) {
      throw new CliError(
        `API URL "${settings.apiUrl}" must not hold credentials, a query or a fragment`,
        EXIT.INVALID,
      );
    }
    this.apiUrl = url;
    this.isLocal = settings.local !== undefined;
    this.#settings = settings;
    if (settings.local) {
      if (!settings.local.principal.trim()) {
        throw new CliError('--local needs the caller: --as <principal ARN> or JIT_PRINCIPAL', EXIT.INVALID);
      }
      this.#region = undefined;
    } else {
      if (url.protocol !== 'https:' && !isLoopbackUrl(url)) {
        throw new CliError(`API URL "${settings.apiUrl}" must be https`, EXIT.INVALID);
      }
      this.#region = settings.region ?? regionOfHost(url.hostname);
      if (!this.#region) {
        throw new CliError(`cannot tell the API's region from ${url.hostname}: pass --region`, EXIT.INVALID);
      }
    }
  }

  /** Calls a route of the contract: `call('POST /requests/{id}/approve', {id}, {body})`. */
  call<T>(
    key: RouteKey<UserRoute>,
    params: Readonly<Record<string, string>> = {},
    options: CallOptions = {},
  ): Promise<T> {
    const method = key.slice(0, key.indexOf(' '));
    return this.request<T>(method, pathOf(key, params), options.body, options.query, options.signal);
  }

  /**
   * One call: `path` (escaped, starting with `/`) below the API URL, `body` as JSON, `query` without its
   * undefined values. Resolves with the parsed answer; rejects with an HttpError carrying the exit code.
   */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    query: Readonly<Record<string, string | undefined>> = {},
    signal?: AbortSignal,
  ): Promise<T> {
    const basePath = this.apiUrl.pathname.replace(/\/+$/, '');
    const fullPath = `${basePath}${path}`;
    const params = Object.fromEntries(
      Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined),
    );
    const search = Object.entries(params)
      .map(([k, v]) => `${uriEscape(k)}=${uriEscape(v)}`)
      .join('&');
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {
      host: this.apiUrl.host,
      accept: 'application/json',
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    };
    const signedHeaders = this.#settings.local
      ? { ...headers, [LOCAL_PRINCIPAL_HEADER]: this.#settings.local.principal.trim() }
      : await this.#sign(method, fullPath, params, headers, payload);
    const url = `${this.apiUrl.origin}${fullPath}${search ? `?${search}` : ''}`;
    const timeout = AbortSignal.timeout(CALL_TIMEOUT_MS);
    let response: Response;
    try {
      response = await (this.#settings.fetch ?? fetch)(url, {
        method,
        headers: signedHeaders,
        ...(payload === undefined ? {} : { body: payload }),
        // A redirect would carry the signature or the identity header elsewhere: never follow one.
        redirect: 'error',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = timeout.aborted
        ? `no answer within ${CALL_TIMEOUT_MS / 1000} s`
        : (cause?.code ?? cause?.message ?? (e as Error).message);
      throw new HttpError(new CliError(`cannot reach ${this.apiUrl.origin}: ${why}`), 0);
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's error page): reported as text below.
    }
    if (!response.ok) throw new HttpError(errorFromResponse(response.status, parsed), response.status);
    return parsed as T;
  }

  /** SigV4 headers for the request, by the SDK's signer with the SDK's credential chain. */
  async #sign(
    method: string,
    path: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<Record<string, string>> {
    // Loaded on first use: `jit --version`, `--help` and cached credential_process answers never need it.
    this.#credentials ??=
      this.#settings.credentials ??
      (await import('@aws-sdk/credential-providers')).fromNodeProviderChain(
        this.#settings.profile ? { profile: this.#settings.profile } : {},
      );
    const signer = new SignatureV4({
      service: 'execute-api',
      region: this.#region as string,
      credentials: this.#credentials,
      sha256: NodeSha256,
    });
    try {
      const signed = await signer.sign(
        {
          method,
          protocol: this.apiUrl.protocol,
          hostname: this.apiUrl.hostname,
          ...(this.apiUrl.port ? { port: Number(this.apiUrl.port) } : {}),
          path,
          query,
          headers,
          ...(body === undefined ? {} : { body }),
        },
        { signingDate: (this.#settings.now ?? (() => new Date()))() },
      );
      return signed.headers;
    } catch (e) {
      const profile = this.#settings.profile ? ` (profile ${this.#settings.profile})` : '';
      throw new CliError(
        `no AWS credentials to sign with${profile}: ${(e as Error).message}`,
        EXIT.UNAUTHORIZED,
      );
    }
  }
}
