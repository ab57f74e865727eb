import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { isLoopbackUrl, JitClient, pathOf, regionOfHost } from '../../../cli/client.ts';
import { CliError, EXIT } from '../../../cli/errors.ts';

const API = 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1';
const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG',
  sessionToken: 'session-token',
};
const NOW = new Date('2025-03-04T05:06:07Z');
const ALICE = 'arn:aws:sts::111122223333:assumed-role/Developer/alice';

interface Sent {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  readonly redirect: RequestInit['redirect'];
}

/** A fetch that records what is sent and answers `answer` (202 `{}` by default). */
function recorder(answer: () => Response = () => new Response('{}', { status: 202 })) {
  const sent: Sent[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    sent.push({
      url,
      method: String(init.method),
      headers: init.headers as Record<string, string>,
      body: init.body === undefined ? undefined : String(init.body),
      redirect: init.redirect,
    });
    return answer();
  }) as typeof globalThis.fetch;
  return { sent, fetch };
}

/** SHA-256 straight on node:crypto: the check does not reuse the client's hash class. */
class CheckSha256 {
  readonly #hash;
  constructor(secret?: string | Uint8Array) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', Buffer.from(secret));
  }
  update(data: string | Uint8Array): void {
    this.#hash.update(typeof data === 'string' ? data : Buffer.from(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

/** Signs what the client sent again, independently, optionally with a different body. */
async function resign(sent: Sent, body = sent.body): Promise<Record<string, string>> {
  const url = new URL(sent.url);
  const headers = Object.fromEntries(
    Object.entries(sent.headers).filter(([k]) => k !== 'authorization' && !k.startsWith('x-amz-')),
  );
  const verifier = new SignatureV4({
    service: 'execute-api',
    region: 'eu-west-1',
    credentials: CREDENTIALS,
    sha256: CheckSha256 as never,
  });
  const signed = await verifier.sign(
    {
      method: sent.method,
      protocol: url.protocol,
      hostname: url.hostname,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      ...(body === undefined ? {} : { body }),
    },
    { signingDate: NOW },
  );
  return signed.headers;
}

describe('JitClient SigV4 signing', () => {
  it('signs a POST so that an independent SigV4 signature over the same request matches', async () => {
    // Prepare
    const { sent, fetch } = recorder();
    const client = new JitClient({ apiUrl: API, credentials: CREDENTIALS, fetch, now: () => NOW });
    // Act
    await client.call('POST /requests/{id}/approve', { id: 'req-1' }, { body: { comment: 'ok' } });
    // Assess
    const [call] = sent;
    if (!call) throw new Error('nothing sent');
    expect(call.url).toBe(`${API}/requests/req-1/approve`);
    expect(call.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20250304\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/,
    );
    expect(call.headers['x-amz-security-token']).toBe('session-token');
    expect((await resign(call)).authorization).toBe(call.headers.authorization);
  });

  it('signs the query string of a GET as sent', async () => {
    // Prepare
    const { sent, fetch } = recorder(() => new Response('{"requests":[]}', { status: 200 }));
    const client = new JitClient({ apiUrl: API, credentials: CREDENTIALS, fetch, now: () => NOW });
    // Act
    await client.call(
      'GET /requests',
      {},
      { query: { limit: '20', next: 'eyJpZCI6IngifQ==', skipped: undefined } },
    );
    // Assess
    const [call] = sent;
    if (!call) throw new Error('nothing sent');
    expect(call.url).toBe(`${API}/requests?limit=20&next=eyJpZCI6IngifQ%3D%3D`);
    expect((await resign(call)).authorization).toBe(call.headers.authorization);
  });

  it('covers the body: the same request with a tampered body has a different signature', async () => {
    // Prepare
    const { sent, fetch } = recorder();
    const client = new JitClient({ apiUrl: API, credentials: CREDENTIALS, fetch, now: () => NOW });
    await client.call('POST /requests/{id}/deny', { id: 'req-1' }, { body: { reason: 'no' } });
    const [call] = sent;
    if (!call) throw new Error('nothing sent');
    // Act
    const tampered = await resign(call, JSON.stringify({ reason: 'yes' }));
    // Assess
    expect(tampered.authorization).not.toBe(call.headers.authorization);
    expect((await resign(call)).authorization).toBe(call.headers.authorization);
  });

  it('never sends the local identity header to AWS, and follows no redirect', async () => {
    // Prepare
    const { sent, fetch } = recorder();
    const client = new JitClient({ apiUrl: API, credentials: CREDENTIALS, fetch, now: () => NOW });
    // Act
    await client.call('GET /rules');
    // Assess
    expect(Object.keys(sent[0]?.headers ?? {})).not.toContain('x-jit-principal');
    expect(sent[0]?.redirect).toBe('error');
  });

  it('takes the region from --region over the execute-api host, and refuses to guess it', () => {
    // Act
    const custom = () => new JitClient({ apiUrl: 'https://jit.example.com/v1', credentials: CREDENTIALS });
    const given = () =>
      new JitClient({ apiUrl: 'https://jit.example.com/v1', credentials: CREDENTIALS, region: 'eu-west-1' });
    // Assess
    expect(custom).toThrow(/pass --region/);
    expect(given).not.toThrow();
    expect(regionOfHost('a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com')).toBe('eu-west-1');
    expect(regionOfHost('a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn')).toBe('cn-north-1');
    expect(regionOfHost('execute-api.eu-west-1.amazonaws.com.evil.example')).toBeUndefined();
  });

  it('refuses a plain-http remote API', () => {
    // Act
    const plain = () => new JitClient({ apiUrl: 'http://a1.execute-api.eu-west-1.amazonaws.com/v1' });
    // Assess
    expect(plain).toThrow(expect.objectContaining({ exitCode: EXIT.INVALID }));
  });
});

describe('JitClient --local', () => {
  it.each(['http://127.0.0.1:8787', 'http://localhost:8787/', 'http://[::1]:8787', 'http://LOCALHOST'])(
    'sends the caller in x-jit-principal, unsigned, to the loopback URL %s',
    async (apiUrl) => {
      // Prepare
      const { sent, fetch } = recorder();
      const client = new JitClient({ apiUrl, local: { principal: ALICE }, fetch });
      // Act
      await client.call('GET /pending');
      // Assess
      expect(sent[0]?.headers['x-jit-principal']).toBe(ALICE);
      expect(sent[0]?.headers.authorization).toBeUndefined();
      expect(new URL(sent[0]?.url ?? '').pathname).toBe('/pending');
    },
  );

  it.each([
    'http://example.com:8787',
    'http://127.0.0.1.nip.io:8787',
    'http://localhost.example.com',
    'http://127.0.0.1@example.com',
    'http://127.0.0.2:8787',
    'http://10.0.0.5:8787',
    'https://a1.execute-api.eu-west-1.amazonaws.com/v1',
  ])('refuses to send the header to %s (exit 1), before any call', async (apiUrl) => {
    // Prepare
    const { sent, fetch } = recorder();
    // Act
    const make = () => new JitClient({ apiUrl, local: { principal: ALICE }, fetch });
    // Assess
    expect(make).toThrow(CliError);
    expect(make).toThrow(expect.objectContaining({ exitCode: EXIT.FAILURE }));
    expect(make).toThrow(/--local refuses to send x-jit-principal/);
    expect(sent).toEqual([]);
  });

  it('reads a loopback host as loopback only when it is exactly one', () => {
    // Act + Assess
    expect(isLoopbackUrl(new URL('http://[::1]:1'))).toBe(true);
    expect(isLoopbackUrl(new URL('http://127.0.0.1'))).toBe(true);
    expect(isLoopbackUrl(new URL('http://127.0.0.1.example'))).toBe(false);
    expect(isLoopbackUrl(new URL('http://[::2]'))).toBe(false);
  });
});

describe('JitClient answers', () => {
  it('turns a contract error into a CliError with its exit code, and no answer into exit 1', async () => {
    // Prepare
    const invalid = new JitClient({
      apiUrl: 'http://127.0.0.1:1',
      local: { principal: ALICE },
      fetch: recorder(
        () =>
          new Response(
            JSON.stringify({
              error: {
                code: 'InvalidRequest',
                message: 'reason must be at least 3 characters',
                details: [{ field: 'reason', message: 'must be at least 3 characters' }],
              },
            }),
            { status: 400 },
          ),
      ).fetch,
    });
    const down = new JitClient({
      apiUrl: 'http://127.0.0.1:1',
      local: { principal: ALICE },
      fetch: (async () => {
        throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      }) as typeof fetch,
    });
    // Act
    const refused = invalid.call('POST /requests', {}, { body: {} });
    const unreachable = down.call('GET /rules');
    // Assess
    await expect(refused).rejects.toMatchObject({
      exitCode: EXIT.INVALID,
      message: 'InvalidRequest: reason must be at least 3 characters',
    });
    await expect(unreachable).rejects.toMatchObject({
      exitCode: EXIT.FAILURE,
      message: 'cannot reach http://127.0.0.1:1: ECONNREFUSED',
      retryable: true,
    });
  });

  it('builds paths from the contract, escaping parameters', () => {
    // Act + Assess
    expect(pathOf('POST /requests/{id}/revoke', { id: 'req-1' })).toBe('/requests/req-1/revoke');
    expect(pathOf('GET /requests/{id}', { id: 'a/b' })).toBe('/requests/a%2Fb');
    expect(() => pathOf('GET /requests/{id}')).toThrow(/needs the parameter id/);
  });
});
