import { Stack, type StackProps } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { AuditTable } from './audit-table.ts';

/** The stateful part (audit table), deployed and retained independently of the functions. */
export class StatefulStack extends Stack {
  public readonly table: TableV2;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.table = new AuditTable(this, 'Audit').table;
  }
}
