import 'aws-sdk-client-mock-vitest/extend';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LambdaRevocations } from '#adapters/lambda-revocations.ts';
import { ConflictError, RetryableAwsError } from '#core/errors.ts';

const FUNCTION = 'JitBroker-RevokeFunctionFn-abc';
/** A Lambda response payload (the SDK's blob adapter is a Uint8Array with helpers the adapter never uses). */
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)) as never;

describe('LambdaRevocations', () => {
  const client = new LambdaClient({});
  const lambdaMock = mockClient(client);
  const revocations = new LambdaRevocations(client, FUNCTION);

  beforeEach(() => {
    lambdaMock.reset();
  });

  it('invokes the revoke function synchronously with the early-revoke payload and returns its result', async () => {
    // Prepare
    const result = {
      requestId: 'req-1',
      status: 'REVOKED',
      alreadyRevoked: false,
      kind: 'policy',
      cleanupAt: null,
    };
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(result) });
    // Act
    const out = await revocations.revoke('req-1', 'arn:aws:sts::111122223333:assumed-role/Dev/alice', 'done');
    // Assess
    expect(out).toEqual(result);
    expect(lambdaMock).toHaveReceivedCommandExactlyOnceWith(InvokeCommand, {
      FunctionName: FUNCTION,
      InvocationType: 'RequestResponse',
    });
    const payload = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input.Payload as Uint8Array;
    expect(JSON.parse(Buffer.from(payload).toString('utf8'))).toEqual({
      action: 'early',
      requestId: 'req-1',
      actor: 'arn:aws:sts::111122223333:assumed-role/Dev/alice',
      reason: 'done',
    });
  });

  it.each([
    ['ConflictError', ConflictError],
    ['RetryableAwsError', RetryableAwsError],
    ['VerificationError', RetryableAwsError],
  ] as const)(
    'turns a %s of the revoke function into the domain error the API maps',
    async (errorType, kind) => {
      // Prepare
      lambdaMock.on(InvokeCommand).resolves({
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: encode({ errorType, errorMessage: 'request is DENIED; nothing to revoke' }),
      });
      // Act
      const out = revocations.revoke('req-1', 'arn:aws:iam::111122223333:user/alice', 'done');
      // Assess
      await expect(out).rejects.toBeInstanceOf(kind);
    },
  );

  it('turns any other function error into a plain error (a 500 with a generic message)', async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({ errorType: 'TypeError', errorMessage: 'boom' }),
    });
    // Act
    const out = revocations.revoke('req-1', 'arn:aws:iam::111122223333:user/alice', 'done');
    // Assess
    await expect(out).rejects.toThrow('revoke function: TypeError: boom');
    await expect(out).rejects.not.toBeInstanceOf(ConflictError);
  });
});
