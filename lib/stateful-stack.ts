import { Stack, type StackProps } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type { AthenaSettings } from '#core/policy/config-schema.ts';
import { AuditTable } from './audit-table.ts';
import { CloudTrailTable } from './cloudtrail-table.ts';
import { EvidenceBucket, type EvidenceBucketProps } from './evidence-bucket.ts';

/** What the stateful stack needs of the config's `audit` section (and its accounts). */
export interface StatefulAuditProps {
  /** The config's `audit.athena`: with a `trailLocation`, the stack creates the CloudTrail table. */
  readonly athena?: AthenaSettings;
  /**
   * The accounts the table projects.
   * @default this stack's account
   */
  readonly accounts?: readonly string[];
  /**
   * The regions the table projects.
   * @default this stack's region and us-east-1 (where IAM's events are delivered)
   */
  readonly regions?: readonly string[];
}

/** Props of {@link StatefulStack}. */
export interface StatefulStackProps extends StackProps {
  /**
   * Object Lock mode and retention of the evidence archive.
   * @default governance mode, 400 days
   */
  readonly evidence?: EvidenceBucketProps;
  /**
   * The audit review's Athena table.
   * @default no CloudTrail table
   */
  readonly audit?: StatefulAuditProps;
}

/**
 * The stateful part (audit table, write-once evidence bucket and, when the config names the organization
 * trail, the Athena table over it), deployed and retained independently of the functions.
 */
export class StatefulStack extends Stack {
  public readonly table: TableV2;
  public readonly evidence: EvidenceBucket;
  /** The CloudTrail table, when `audit.athena.trailLocation` is set. */
  public readonly cloudTrail?: CloudTrailTable;

  constructor(scope: Construct, id: string, props?: StatefulStackProps) {
    super(scope, id, props);
    this.table = new AuditTable(this, 'Audit').table;
    this.evidence = new EvidenceBucket(this, 'Evidence', props?.evidence);
    const athena = props?.audit?.athena;
    if (athena?.trailLocation) {
      const accounts = props?.audit?.accounts?.length ? props.audit.accounts : [this.account];
      const regions = props?.audit?.regions?.length
        ? props.audit.regions
        : [...new Set([this.region, 'us-east-1'])];
      this.cloudTrail = new CloudTrailTable(this, 'CloudTrail', {
        database: athena.database,
        table: athena.table,
        trailLocation: athena.trailLocation,
        projectionStartDate: athena.projectionStartDate,
        accounts,
        regions,
      });
    }
  }
}
