import 'aws-sdk-client-mock-vitest/extend';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretReader } from '#adapters/slack-secrets.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:JitBroker/slack/signing-secret-AbCdEf';

describe('SecretReader', () => {
  const client = new SecretsManagerClient({});
  const smMock = mockClient(client);

  beforeEach(() => {
    smMock.reset();
  });

  it('reads a secret once and serves it from memory afterwards', async () => {
    // Prepare
    smMock.on(GetSecretValueCommand).resolves({ SecretString: ' s3cret\n' });
    const reader = new SecretReader(client);
    // Act
    const values = await Promise.all([reader.read(ARN), reader.read(ARN), reader.read(ARN)]);
    // Assess
    expect(values).toEqual(['s3cret', 's3cret', 's3cret']);
    expect(smMock).toHaveReceivedCommandExactlyOnceWith(GetSecretValueCommand, { SecretId: ARN });
  });

  it('does not cache a failed read: the next call tries again', async () => {
    // Prepare
    smMock
      .on(GetSecretValueCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'not found', $metadata: {} }))
      .resolves({ SecretString: 's3cret' });
    const reader = new SecretReader(client);
    // Act
    const first = await reader.read(ARN).catch((e: unknown) => e);
    const second = await reader.read(ARN);
    // Assess
    expect(first).toBeInstanceOf(ResourceNotFoundException);
    expect(second).toBe('s3cret');
    expect(smMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it('refuses an empty or binary-only secret (an empty signing secret would accept any signature)', async () => {
    // Prepare
    smMock.on(GetSecretValueCommand).resolves({ SecretString: '   ' });
    const reader = new SecretReader(client);
    // Act
    const result = reader.read(ARN);
    // Assess
    await expect(result).rejects.toThrow(`secret ${ARN} has no string value`);
  });
});
