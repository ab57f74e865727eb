import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectLockRetention,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge.ts';

/** Object Lock mode of the evidence: governance (a privileged role may delete) or compliance (no one may). */
export type EvidenceLockMode = 'governance' | 'compliance';

/** Props of {@link EvidenceBucket}. */
export interface EvidenceBucketProps {
  /**
   * Object Lock mode of every archived event. Compliance mode cannot be shortened or lifted by anyone,
   * the root user included, until the retention ends: the objects (and so the bucket) outlive the stack.
   * @default 'governance'
   */
  readonly mode?: EvidenceLockMode;
  /**
   * Days each archived event is kept write-once (from when it was written).
   * @default 400
   */
  readonly retentionDays?: number;
}

/**
 * The write-once evidence bucket: S3 Object Lock with a default retention, versioning, SSE-KMS with its own
 * rotating key, TLS only, public access blocked, server access logs to a separate bucket. Retained with
 * the stack's deletion: it is evidence.
 */
export class EvidenceBucket extends Construct {
  public readonly bucket: Bucket;
  public readonly key: Key;
  public readonly mode: EvidenceLockMode;
  public readonly retentionDays: number;

  /**
   * The bucket's name, from its stack's name, account and region: another stack of the same environment
   * addresses it with its own pseudo parameters, so a grant on `events/*` is a literal pattern there (not
   * an import) and its cdk-nag acknowledgement names it.
   */
  static bucketName(statefulStackName: string): string {
    return `${statefulStackName.toLowerCase()}-evidence-${Aws.ACCOUNT_ID}-${Aws.REGION}`;
  }

  /** This bucket as seen from `scope` (a stack of the same account and region), by name. */
  bucketIn(scope: Construct, id: string): IBucket {
    return Bucket.fromBucketName(scope, id, EvidenceBucket.bucketName(Stack.of(this).stackName));
  }

  constructor(scope: Construct, id: string, props: EvidenceBucketProps = {}) {
    super(scope, id);
    this.mode = props.mode ?? 'governance';
    this.retentionDays = props.retentionDays ?? 400;
    if (!Number.isInteger(this.retentionDays) || this.retentionDays < 1 || this.retentionDays > 36500) {
      throw new Error(`EvidenceBucket: retentionDays must be a whole number from 1 to 36500`);
    }
    this.key = new Key(this, 'Key', {
      description: 'JIT broker evidence archive (S3 Object Lock)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      accessLogs,
      'S1',
      'This is the access-log bucket of the evidence bucket; it does not log itself.',
    );
    const retention = Duration.days(this.retentionDays);
    this.bucket = new Bucket(this, 'Bucket', {
      bucketName: EvidenceBucket.bucketName(Stack.of(this).stackName),
      objectLockEnabled: true,
      objectLockDefaultRetention:
        this.mode === 'compliance'
          ? ObjectLockRetention.compliance(retention)
          : ObjectLockRetention.governance(retention),
      versioned: true,
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'evidence/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
