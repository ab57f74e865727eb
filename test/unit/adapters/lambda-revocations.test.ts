import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { LambdaRevocations } from '#adapters/lambda-revocations.ts';
import { NodeSha256 } from '#adapters/node-sha256.ts';
import { ConflictError, RetryableAwsError } from '#core/errors.ts';

const FUNCTION = 'JitBroker-RevokeFunctionFn-abc';
const ALICE = 'arn:aws:sts::111122223333:assumed-role/Dev/alice';

interface Sent {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A revocations adapter whose HTTP calls are answered by `answer` and recorded in `sent`. */
function setup(answer: () => Response) {
  const sent: Sent[] = [];
  const revocations = new LambdaRevocations({
    functionName: FUNCTION,
    region: async () => 'eu-west-1',
    credentials: async () => ({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: 'token',
    }),
    fetch: (async (url: string, init: RequestInit) => {
      sent.push({ url, headers: init.headers as Record<string, string>, body: String(init.body) });
      return answer();
    }) as typeof fetch,
  });
  return { revocations, sent };
}

const json = (value: unknown, headers: Record<string, string> = {}, status = 200) =>
  new Response(JSON.stringify(value), { status, headers });

describe('LambdaRevocations', () => {
  it('invokes the revoke function synchronously, SigV4-signed, with the early-revoke payload', async () => {
    // Prepare
    const result = {
      requestId: 'req-1',
      status: 'REVOKED',
      alreadyRevoked: false,
      kind: 'policy',
      cleanupAt: null,
    };
    const { revocations, sent } = setup(() => json(result));
    // Act
    const out = await revocations.revoke('req-1', ALICE, 'done');
    // Assess
    expect(out).toEqual(result);
    expect(sent).toHaveLength(1);
    const [call] = sent;
    expect(call?.url).toBe(
      `https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/${FUNCTION}/invocations`,
    );
    expect(JSON.parse(call?.body ?? '')).toEqual({
      action: 'early',
      requestId: 'req-1',
      actor: ALICE,
      reason: 'done',
    });
    expect(call?.headers['x-amz-invocation-type']).toBe('RequestResponse');
    expect(call?.headers['x-amz-security-token']).toBe('token');
    expect(call?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/lambda\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(call?.headers.authorization).toContain('x-amz-invocation-type');
  });

  it('signs the same request the same way and a different body differently', async () => {
    // Prepare
    const { revocations, sent } = setup(() => json({}));
    // Act
    await revocations.revoke('req-1', ALICE, 'done');
    await revocations.revoke('req-2', ALICE, 'done');
    // Assess
    const signature = (s?: Sent) => s?.headers.authorization?.split('Signature=')[1];
    expect(signature(sent[0])).not.toBe(signature(sent[1]));
  });

  it.each([
    ['ConflictError', ConflictError],
    ['RetryableAwsError', RetryableAwsError],
    ['VerificationError', RetryableAwsError],
  ] as const)(
    'turns a %s of the revoke function into the domain error the API maps',
    async (errorType, kind) => {
      // Prepare
      const { revocations } = setup(() =>
        json(
          { errorType, errorMessage: 'request is DENIED; nothing to revoke' },
          { 'x-amz-function-error': 'Unhandled' },
        ),
      );
      // Act
      const out = revocations.revoke('req-1', ALICE, 'done');
      // Assess
      await expect(out).rejects.toBeInstanceOf(kind);
    },
  );

  it('turns a throttled or failed invoke into RetryableAwsError (503) and other answers into a plain error', async () => {
    // Prepare
    const throttled = setup(() => json({ message: 'Rate exceeded' }, {}, 429)).revocations;
    const denied = setup(() => json({ message: 'AccessDenied' }, {}, 403)).revocations;
    const crashed = setup(() =>
      json({ errorType: 'TypeError', errorMessage: 'boom' }, { 'x-amz-function-error': 'Unhandled' }),
    ).revocations;
    // Act
    const a = throttled.revoke('req-1', ALICE, 'done');
    const b = denied.revoke('req-1', ALICE, 'done');
    const c = crashed.revoke('req-1', ALICE, 'done');
    // Assess
    await expect(a).rejects.toBeInstanceOf(RetryableAwsError);
    await expect(b).rejects.toThrow('lambda:Invoke answered 403');
    await expect(c).rejects.toThrow('revoke function: TypeError: boom');
    await expect(c).rejects.not.toBeInstanceOf(ConflictError);
  });

  it("signs the AWS SigV4 test suite's get-vanilla request to its published signature (the hash adapter is right)", async () => {
    // Prepare: the test-suite credentials and date; no payload-hash header, as in the suite.
    const signer = new SignatureV4({
      applyChecksum: false,
      service: 'service',
      region: 'us-east-1',
      credentials: {
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      },
      sha256: NodeSha256,
    });
    const request = {
      method: 'GET',
      protocol: 'https:',
      hostname: 'example.amazonaws.com',
      path: '/',
      headers: { host: 'example.amazonaws.com' },
      query: {},
    };
    // Act
    const signed = await signer.sign(request, { signingDate: new Date('2015-08-30T12:36:00Z') });
    // Assess
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });
});
