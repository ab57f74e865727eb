import { describe, expect, it } from 'vitest';
import { S3ArchiveReader } from '#adapters/s3-archive-reader.ts';
import { RetryableAwsError } from '#core/errors.ts';

const BUCKET = 'jitstateful-evidence-111122223333-eu-west-1';

/** A reader whose HTTP answers come from `answer(url)`; the URLs and headers are recorded. */
function setup(answer: (url: URL) => Response, endpoint?: string) {
  const sent: { url: URL; headers: Record<string, string> }[] = [];
  const reader = new S3ArchiveReader(
    {
      region: async () => 'eu-west-1',
      credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
      ...(endpoint ? { endpoint } : {}),
      fetch: (async (url: string, init: RequestInit) => {
        const parsed = new URL(url);
        sent.push({ url: parsed, headers: init.headers as Record<string, string> });
        return answer(parsed);
      }) as typeof fetch,
    },
    BUCKET,
  );
  return { reader, sent };
}

const xml = (body: string, status = 200) => new Response(body, { status });

describe('S3ArchiveReader', () => {
  it('gets an object with a signed GET on the virtual-hosted bucket, and undefined for a missing key', async () => {
    // Prepare
    const { reader, sent } = setup((url) =>
      url.pathname.endsWith('/1.json')
        ? new Response('{"seq":1}')
        : xml('<Error><Code>NoSuchKey</Code></Error>', 404),
    );
    // Act
    const found = await reader.get('events/req-1/0000000001.json'.replace('0000000001', '1'));
    const missing = await reader.get('events/req-1/2.json');
    // Assess
    expect(found).toBe('{"seq":1}');
    expect(missing).toBeUndefined();
    expect(sent[0]?.url.host).toBe(`${BUCKET}.s3.eu-west-1.amazonaws.com`);
    expect(sent[0]?.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(sent[0]?.headers.authorization).toMatch(
      /Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request/,
    );
  });

  it('lists every page of a prefix (continuation tokens), sorted', async () => {
    // Prepare
    const { reader, sent } = setup((url) =>
      url.searchParams.get('continuation-token') === 'tok&2'
        ? xml('<ListBucketResult><Contents><Key>events/r/0003.json</Key></Contents></ListBucketResult>')
        : xml(
            '<ListBucketResult><Contents><Key>events/r/0002.json</Key></Contents><Contents><Key>events/r/0001.json</Key></Contents><NextContinuationToken>tok&amp;2</NextContinuationToken></ListBucketResult>',
          ),
    );
    // Act
    const keys = await reader.list('events/r/');
    // Assess
    expect(keys).toEqual(['events/r/0001.json', 'events/r/0002.json', 'events/r/0003.json']);
    expect(sent.map((s) => s.url.searchParams.get('list-type'))).toEqual(['2', '2']);
    expect(sent[0]?.url.searchParams.get('prefix')).toBe('events/r/');
  });

  it('uses path style on an endpoint override, maps S3 errors, and never writes', async () => {
    // Prepare
    const { reader, sent } = setup(
      (url) =>
        url.pathname.includes('denied')
          ? xml('<Error><Code>AccessDenied</Code></Error>', 403)
          : xml('<Error><Code>SlowDown</Code></Error>', 503),
      'http://127.0.0.1:4566',
    );
    // Act
    const denied = reader.get('events/denied/1.json');
    const slow = reader.get('events/slow/1.json');
    const put = reader.put('events/x/1.json');
    // Assess
    await expect(denied).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(slow).rejects.toBeInstanceOf(RetryableAwsError);
    await expect(put).rejects.toThrow('never writes');
    expect(sent[0]?.url.href).toBe(`http://127.0.0.1:4566/${BUCKET}/events/denied/1.json`);
  });
});
