import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, StreamViewType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '#adapters/table-schema.ts';

/** Props of {@link AuditTable}. */
export interface AuditTableProps {
  /**
   * What happens to the table when the stack is deleted. The audit log is evidence: keep it.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The requests + append-only audit log table (one table, PITR on, retained, deletion-protected), keys
 * and indexes from the shared TABLE_SCHEMA so the local runtime builds the very same table.
 */
export class AuditTable extends Construct {
  public readonly table: TableV2;

  constructor(scope: Construct, id: string, props: AuditTableProps = {}) {
    super(scope, id);
    const s = TABLE_SCHEMA;
    const str = (name: string) => ({ name, type: AttributeType.STRING });
    this.table = new TableV2(this, 'Table', {
      partitionKey: str(s.partitionKey),
      sortKey: str(s.sortKey),
      billing: Billing.onDemand(),
      encryption: TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      // The evidence function archives every new event from the stream (the item as written).
      dynamoStream: StreamViewType.NEW_IMAGE,
      globalSecondaryIndexes: Object.values(s.indexes).map((i) => ({
        indexName: i.name,
        partitionKey: str(i.partitionKey),
        sortKey: str(i.sortKey),
      })),
    });
  }
}
