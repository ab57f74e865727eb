import { describe, expect, it } from 'vitest';
import { SecretReader, secretsManagerSource } from '#adapters/slack-secrets.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:JitBroker/slack/signing-secret-AbCdEf';

interface Sent {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A reader over Secrets Manager whose HTTP answers come from `answers` in turn; calls are recorded. */
function setup(answers: (() => Response)[], endpoint?: string) {
  const sent: Sent[] = [];
  const source = secretsManagerSource({
    region: async () => 'us-east-1',
    credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
    ...(endpoint ? { endpoint } : {}),
    fetch: (async (url: string, init: RequestInit) => {
      sent.push({ url, headers: init.headers as Record<string, string>, body: String(init.body) });
      const next = answers.length > 1 ? answers.shift() : answers[0];
      return (next as () => Response)();
    }) as typeof fetch,
  });
  return { reader: new SecretReader(source), sent };
}

const ok = (value: string) => () =>
  new Response(JSON.stringify({ ARN, SecretString: value }), { status: 200 });
const notFound = () =>
  new Response(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'not found' }), {
    status: 400,
  });

describe('SecretReader over Secrets Manager', () => {
  it('reads a secret once, with a signed GetSecretValue, and serves it from memory afterwards', async () => {
    // Prepare
    const { reader, sent } = setup([ok(' s3cret\n')]);
    // Act
    const values = await Promise.all([reader.read(ARN), reader.read(ARN), reader.read(ARN)]);
    // Assess
    expect(values).toEqual(['s3cret', 's3cret', 's3cret']);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe('https://secretsmanager.us-east-1.amazonaws.com/');
    expect(sent[0]?.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(JSON.parse(sent[0]?.body ?? '')).toEqual({ SecretId: ARN });
    expect(sent[0]?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/secretsmanager\/aws4_request, /,
    );
  });

  it('does not cache a failed read: the next call tries again, and the error names the service error', async () => {
    // Prepare
    const { reader, sent } = setup([notFound, ok('s3cret')]);
    // Act
    const first = await reader.read(ARN).catch((e: unknown) => e);
    const second = await reader.read(ARN);
    // Assess
    expect(first).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(String(first)).not.toContain('s3cret');
    expect(second).toBe('s3cret');
    expect(sent).toHaveLength(2);
  });

  it('refuses an empty or binary-only secret (an empty signing secret would accept any signature)', async () => {
    // Prepare
    const { reader } = setup([ok('   ')]);
    // Act
    const result = reader.read(ARN);
    // Assess
    await expect(result).rejects.toThrow(`secret ${ARN} has no string value`);
  });

  it('goes to an endpoint override when the runtime names one (AWS_ENDPOINT_URL_SECRETS_MANAGER)', async () => {
    // Prepare
    const { reader, sent } = setup([ok('s3cret')], 'http://127.0.0.1:4566');
    // Act
    await reader.read(ARN);
    // Assess
    expect(sent[0]?.url).toBe('http://127.0.0.1:4566/');
  });
});
