import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SlackCardClaim, SlackCardRecord, SlackCards, SlackMessageRef } from '#core/slack/ports.ts';
import { keys } from './table-schema.ts';

/** The attribute of the request item (`sk=META`) that holds its Slack card record. */
export const SLACK_CARD_ATTRIBUTE = 'slackCard';

/** Every attribute name goes through a placeholder (several are DynamoDB reserved words). */
const NAMES = {
  '#card': SLACK_CARD_ATTRIBUTE,
  '#claimId': 'claimId',
  '#claimedAt': 'claimedAt',
  '#channel': 'channel',
  '#ts': 'ts',
  '#version': 'version',
} as const;

type Names = keyof typeof NAMES;

/** Only the placeholders an expression uses (DynamoDB refuses unused ones). */
function names(...used: Names[]): Record<string, string> {
  return Object.fromEntries(used.map((n) => [n, NAMES[n]]));
}

function conditionFailed(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/**
 * SlackCards on the request item: single-item conditional updates, so the claim, the posted ref and the
 * shown version each change only from the state the caller expects.
 */
export class DynamoSlackCards implements SlackCards {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(db: DynamoDBDocumentClient, tableName: string) {
    this.#db = db;
    this.#table = tableName;
  }

  async claim(requestId: string, claim: SlackCardClaim): Promise<boolean> {
    return this.#conditional(
      {
        UpdateExpression: 'SET #card = :card',
        ConditionExpression:
          'attribute_exists(pk) AND (attribute_not_exists(#card) OR ' +
          '(attribute_not_exists(#card.#ts) AND #card.#claimedAt < :stale))',
        ExpressionAttributeNames: names('#card', '#ts', '#claimedAt'),
        ExpressionAttributeValues: {
          ':card': { claimId: claim.claimId, claimedAt: claim.claimedAt, windowEndsAt: claim.windowEndsAt },
          ':stale': claim.staleBefore,
        },
      },
      requestId,
    );
  }

  async posted(requestId: string, claimId: string, ref: SlackMessageRef, version: number): Promise<void> {
    await this.#conditional(
      {
        UpdateExpression: 'SET #card.#channel = :channel, #card.#ts = :ts, #card.#version = :v',
        ConditionExpression: '#card.#claimId = :claim',
        ExpressionAttributeNames: names('#card', '#channel', '#ts', '#version', '#claimId'),
        ExpressionAttributeValues: {
          ':channel': ref.channel,
          ':ts': ref.ts,
          ':v': version,
          ':claim': claimId,
        },
      },
      requestId,
    );
  }

  async release(requestId: string, claimId: string): Promise<void> {
    await this.#conditional(
      {
        UpdateExpression: 'REMOVE #card',
        ConditionExpression: '#card.#claimId = :claim AND attribute_not_exists(#card.#ts)',
        ExpressionAttributeNames: names('#card', '#claimId', '#ts'),
        ExpressionAttributeValues: { ':claim': claimId },
      },
      requestId,
    );
  }

  async get(requestId: string): Promise<SlackCardRecord | undefined> {
    const out = await this.#db.send(
      new GetCommand({
        TableName: this.#table,
        Key: keys.meta(requestId),
        ProjectionExpression: '#card',
        ExpressionAttributeNames: names('#card'),
        ConsistentRead: true,
      }),
    );
    const card = out.Item?.[SLACK_CARD_ATTRIBUTE] as
      | { windowEndsAt?: string; channel?: string; ts?: string; version?: number }
      | undefined;
    if (!card?.windowEndsAt) return undefined;
    return {
      windowEndsAt: card.windowEndsAt,
      ...(card.channel && card.ts ? { ref: { channel: card.channel, ts: card.ts } } : {}),
      ...(typeof card.version === 'number' ? { version: card.version } : {}),
    };
  }

  async advance(requestId: string, version: number): Promise<boolean> {
    return this.#conditional(
      {
        UpdateExpression: 'SET #card.#version = :v',
        ConditionExpression:
          'attribute_exists(#card.#ts) AND (attribute_not_exists(#card.#version) OR #card.#version < :v)',
        ExpressionAttributeNames: names('#card', '#ts', '#version'),
        ExpressionAttributeValues: { ':v': version },
      },
      requestId,
    );
  }

  /** Runs one conditional update of the request item; false when its condition did not hold. */
  async #conditional(
    update: Pick<
      ConstructorParameters<typeof UpdateCommand>[0],
      'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
    requestId: string,
  ): Promise<boolean> {
    try {
      await this.#db.send(
        new UpdateCommand({ TableName: this.#table, Key: keys.meta(requestId), ...update }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }
}
