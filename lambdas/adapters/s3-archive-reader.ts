import { RetryableAwsError } from '#core/errors.ts';
import type { EvidenceArchive } from '#core/ports.ts';
import { type SigningContext, signedPost } from './signed-fetch.ts';

/** What `ListObjectsV2` says in its XML: the keys of one page and where the next one starts. */
function parseListPage(xml: string): { keys: string[]; next?: string } {
  const decodeXml = (v: string) =>
    v
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  const keys = [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => decodeXml(m[1] ?? ''));
  const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1];
  return next ? { keys, next: decodeXml(next) } : { keys };
}

/**
 * The evidence archive, read-only, for the verifier in the API function: `GetObject` and `ListObjectsV2`
 * as signed GETs (the S3 client would add about 160 KiB to the API bundle for two reads). The writer, in
 * the evidence function, uses the S3 client. `put` is refused: the API never writes evidence.
 */
export class S3ArchiveReader implements EvidenceArchive {
  readonly #ctx: SigningContext;
  readonly #bucket: string;

  constructor(ctx: SigningContext, bucket: string) {
    this.#ctx = ctx;
    this.#bucket = bucket;
  }

  async put(key: string): Promise<void> {
    throw new Error(`the archive reader never writes (${key})`);
  }

  async get(key: string): Promise<string | undefined> {
    const response = await this.#get(`/${key.split('/').map(encodeURIComponent).join('/')}`, {});
    if (response.status === 404) return undefined;
    return this.#text(response, `GetObject ${key}`);
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix };
      if (token) query['continuation-token'] = token;
      const page = parseListPage(await this.#text(await this.#get('/', query), `ListObjectsV2 ${prefix}`));
      keys.push(...page.keys);
      token = page.next;
    } while (token);
    return keys.sort();
  }

  /** A signed GET: virtual-hosted bucket on AWS, path-style on an endpoint override. */
  #get(path: string, query: Record<string, string>): Promise<Response> {
    const pathStyle = this.#ctx.endpoint !== undefined;
    return signedPost(this.#ctx, {
      service: 's3',
      method: 'GET',
      host: (region) => `${this.#bucket}.s3.${region}.amazonaws.com`,
      path: pathStyle ? `/${this.#bucket}${path === '/' ? '' : path}` : path,
      query,
      headers: {},
      body: '',
      singleEncodedPath: true,
    });
  }

  async #text(response: Response, what: string): Promise<string> {
    const text = await response.text();
    if (response.status === 503 || response.status === 500 || response.status === 429) {
      throw new RetryableAwsError(`${what}: S3 answered ${response.status} (retryable)`);
    }
    if (!response.ok) {
      const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `HTTP${response.status}`;
      throw Object.assign(new Error(`${what}: ${code}`), { name: code });
    }
    return text;
  }
}
