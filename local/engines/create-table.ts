// local/engines/: the real engines of the local runtime (DynamoDB Local, the synthesized ASL runner).
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { TABLE_SCHEMA } from '#adapters/table-schema.ts';

/** Creates the audit table from the same schema the CDK table uses (idempotent). */
export async function createAuditTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const s = TABLE_SCHEMA;
  const indexes = Object.values(s.indexes);
  const attributes = new Set<string>([
    s.partitionKey,
    s.sortKey,
    ...indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ]);
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
        KeySchema: [
          { AttributeName: s.partitionKey, KeyType: 'HASH' },
          { AttributeName: s.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: indexes.map((i) => ({
          IndexName: i.name,
          KeySchema: [
            { AttributeName: i.partitionKey, KeyType: 'HASH' },
            { AttributeName: i.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    await addMissingIndexes(client, tableName);
  }
}

/**
 * A data dir made by an older broker lacks the indexes added since: add them one at a time (as a
 * CloudFormation update of the real table does), so `--data-dir` keeps working across upgrades.
 */
async function addMissingIndexes(client: DynamoDBClient, tableName: string): Promise<void> {
  const table = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const present = new Set((table.Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
  for (const index of Object.values(TABLE_SCHEMA.indexes)) {
    if (present.has(index.name)) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: index.partitionKey, AttributeType: 'S' },
          { AttributeName: index.sortKey, AttributeType: 'S' },
        ],
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              IndexName: index.name,
              KeySchema: [
                { AttributeName: index.partitionKey, KeyType: 'HASH' },
                { AttributeName: index.sortKey, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            },
          },
        ],
      }),
    );
  }
}
