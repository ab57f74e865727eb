import 'aws-sdk-client-mock-vitest/extend';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoAuditStore } from '#adapters/dynamo-audit-store.ts';
import { chainEvent, GENESIS_HASH } from '#core/audit/chain.ts';
import { RetryableAwsError, TransitionRefusedError } from '#core/errors.ts';

const ddbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => ddbMock.reset());

const store = () => new DynamoAuditStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'table');
const write = () => {
  const first = chainEvent({
    requestId: 'r',
    seq: 1,
    from: null,
    to: 'REQUESTED',
    at: 't',
    actor: 'a',
    prevHash: GENESIS_HASH,
  });
  const event = chainEvent({
    requestId: 'r',
    seq: 2,
    from: 'REQUESTED',
    to: 'REJECTED',
    at: 't',
    actor: 'a',
    prevHash: first.hash,
  });
  return { from: 'REQUESTED' as const, to: 'REJECTED' as const, expectVersion: 1, event, at: 't' };
};
const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

describe('DynamoAuditStore transaction cancellations', () => {
  it.each([
    [['ConditionalCheckFailed', 'None']],
    [['None', 'ConditionalCheckFailed']],
    [['TransactionConflict', 'None']],
  ])('treats cancellation reasons %j as a refused transition', async (codes) => {
    // Prepare
    ddbMock.on(TransactWriteCommand).rejects(cancelled(...codes));
    // Act
    const act = store().transition('r', write());
    // Assess
    await expect(act).rejects.toBeInstanceOf(TransitionRefusedError);
  });

  it('surfaces a transaction cancelled by throttling as retryable, not as a conflict', async () => {
    // Prepare
    ddbMock.on(TransactWriteCommand).rejects(cancelled('ThrottlingError', 'None'));
    // Act
    const act = store().transition('r', write());
    // Assess
    await expect(act).rejects.toBeInstanceOf(RetryableAwsError);
  });
});
