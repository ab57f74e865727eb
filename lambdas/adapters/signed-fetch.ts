import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from './node-sha256.ts';

type SignerInit = ConstructorParameters<typeof SignatureV4>[0];

/** As whom and where a signed call goes: the credentials and region of a client the function already has. */
export interface SigningContext {
  readonly region: () => Promise<string>;
  readonly credentials: SignerInit['credentials'];
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Another endpoint for the service (the SDK's `AWS_ENDPOINT_URL_<SERVICE>` convention, read by the runtime
   * config): a stand-in in tests and benchmarks. @default the service's regional endpoint
   */
  readonly endpoint?: string;
}

/** One HTTPS call to an AWS service endpoint. */
export interface SignedCall {
  readonly service: string;
  /** The endpoint's host name for `region`, e.g. `lambda.${region}.amazonaws.com`. */
  readonly host: (region: string) => string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** @default 'POST' */
  readonly method?: 'GET' | 'POST';
  readonly query?: Readonly<Record<string, string>>;
  /** S3 signs the path as it is (no second URI encoding). */
  readonly singleEncodedPath?: boolean;
}

/**
 * One call to an AWS API (POST with a body, or GET with a query), SigV4-signed by the SDK's own signer with
 * the caller's credentials. For the few calls a function makes to a service whose SDK client would add tens
 * of KiB to its bundle (Lambda Invoke, Secrets Manager GetSecretValue, S3 reads of the evidence archive);
 * everything else uses the SDK clients.
 */
export async function signedPost(ctx: SigningContext, call: SignedCall): Promise<Response> {
  const region = await ctx.region();
  const base = ctx.endpoint ? new URL(ctx.endpoint) : new URL(`https://${call.host(region)}`);
  const hostname = base.host;
  const method = call.method ?? 'POST';
  const query = call.query ?? {};
  const signer = new SignatureV4({
    service: call.service,
    region,
    credentials: ctx.credentials,
    sha256: NodeSha256,
    ...(call.singleEncodedPath ? { uriEscapePath: false } : {}),
  });
  const signed = await signer.sign({
    method,
    protocol: base.protocol,
    hostname,
    path: call.path,
    query: { ...query },
    headers: { host: hostname, ...call.headers },
    ...(method === 'POST' ? { body: call.body } : {}),
  });
  // RFC 3986 encoding, as the signer's canonical query has it (URLSearchParams would write a space as `+`).
  const search = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return (ctx.fetch ?? fetch)(`${base.protocol}//${hostname}${call.path}${search ? `?${search}` : ''}`, {
    method,
    headers: signed.headers,
    ...(method === 'POST' ? { body: call.body } : {}),
  });
}
