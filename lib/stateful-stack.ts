import { Stack, type StackProps } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { AuditTable } from './audit-table.ts';
import { EvidenceBucket, type EvidenceBucketProps } from './evidence-bucket.ts';

/** Props of {@link StatefulStack}. */
export interface StatefulStackProps extends StackProps {
  /**
   * Object Lock mode and retention of the evidence archive.
   * @default governance mode, 400 days
   */
  readonly evidence?: EvidenceBucketProps;
}

/** The stateful part (audit table, write-once evidence bucket), deployed and retained independently of the functions. */
export class StatefulStack extends Stack {
  public readonly table: TableV2;
  public readonly evidence: EvidenceBucket;

  constructor(scope: Construct, id: string, props?: StatefulStackProps) {
    super(scope, id, props);
    this.table = new AuditTable(this, 'Audit').table;
    this.evidence = new EvidenceBucket(this, 'Evidence', props?.evidence);
  }
}
