import 'aws-sdk-client-mock-vitest/extend';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoSlackCards } from '#adapters/dynamo-slack-cards.ts';

const TABLE = 'jit-test';
const KEY = { pk: 'REQ#req-0001', sk: 'META' };
const CLAIM = {
  claimId: 'claim-1',
  claimedAt: '2026-11-22T10:00:00Z',
  windowEndsAt: '2026-11-22T10:59:50Z',
  staleBefore: '2026-11-22T09:58:00Z',
};

function conditionFailed() {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

describe('DynamoSlackCards', () => {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const ddbMock = mockClient(db);
  const cards = new DynamoSlackCards(db, TABLE);

  beforeEach(() => {
    ddbMock.reset();
  });

  it('claims with a conditional write: only when the request exists and has no card nor a live claim', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).resolves({});
    // Act
    const claimed = await cards.claim('req-0001', CLAIM);
    // Assess
    expect(claimed).toBe(true);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE,
      Key: KEY,
      UpdateExpression: 'SET #card = :card',
      ConditionExpression:
        'attribute_exists(pk) AND (attribute_not_exists(#card) OR (attribute_not_exists(#card.#ts) AND #card.#claimedAt < :stale))',
      ExpressionAttributeValues: {
        ':card': { claimId: 'claim-1', claimedAt: CLAIM.claimedAt, windowEndsAt: CLAIM.windowEndsAt },
        ':stale': CLAIM.staleBefore,
      },
    });
  });

  it('answers false when the claim condition fails', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).rejects(conditionFailed());
    // Act
    const claimed = await cards.claim('req-0001', CLAIM);
    // Assess
    expect(claimed).toBe(false);
  });

  it('rethrows any other error', async () => {
    // Prepare
    const throttled = Object.assign(new Error('slow down'), {
      name: 'ProvisionedThroughputExceededException',
    });
    ddbMock.on(UpdateCommand).rejects(throttled);
    // Act
    const result = cards.claim('req-0001', CLAIM);
    // Assess
    await expect(result).rejects.toBe(throttled);
  });

  it('records the posted message only under its own claim', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).resolves({});
    // Act
    await cards.posted('req-0001', 'claim-1', { channel: 'C0', ts: '1.2' }, 2);
    // Assess
    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression: 'SET #card.#channel = :channel, #card.#ts = :ts, #card.#version = :v',
      ConditionExpression: '#card.#claimId = :claim',
      ExpressionAttributeValues: { ':channel': 'C0', ':ts': '1.2', ':v': 2, ':claim': 'claim-1' },
    });
  });

  it('advances the shown version only forward', async () => {
    // Prepare
    ddbMock.on(UpdateCommand).resolvesOnce({}).rejects(conditionFailed());
    // Act
    const first = await cards.advance('req-0001', 3);
    const again = await cards.advance('req-0001', 3);
    // Assess
    expect([first, again]).toEqual([true, false]);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression:
        'attribute_exists(#card.#ts) AND (attribute_not_exists(#card.#version) OR #card.#version < :v)',
    });
  });

  it('reads the card record with a consistent, projected read', async () => {
    // Prepare
    ddbMock.on(GetCommand).resolves({
      Item: { slackCard: { claimId: 'c', windowEndsAt: 'w', channel: 'C0', ts: '1.2', version: 4 } },
    });
    // Act
    const record = await cards.get('req-0001');
    // Assess
    expect(record).toEqual({ ref: { channel: 'C0', ts: '1.2' }, windowEndsAt: 'w', version: 4 });
    expect(ddbMock).toHaveReceivedCommandWith(GetCommand, {
      Key: KEY,
      ProjectionExpression: '#card',
      ConsistentRead: true,
    });
  });

  it('reads no record for a request without a card, and a claim without a ref while posting', async () => {
    // Prepare
    ddbMock
      .on(GetCommand)
      .resolvesOnce({ Item: {} })
      .resolves({ Item: { slackCard: { claimId: 'c', windowEndsAt: 'w' } } });
    // Act
    const none = await cards.get('req-0001');
    const posting = await cards.get('req-0001');
    // Assess
    expect(none).toBeUndefined();
    expect(posting).toEqual({ windowEndsAt: 'w' });
  });
});
