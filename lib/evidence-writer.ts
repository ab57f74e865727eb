import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PolicyConfig } from '#core/policy/config.ts';
import { acknowledge, acknowledgeWildcard } from './acknowledge.ts';
import { BrokerFunction } from './broker-function.ts';

/** Props of {@link EvidenceWriter}. */
export interface EvidenceWriterProps {
  /** The config the function carries in its bundle (every broker function carries it). */
  readonly policy: PolicyConfig;
  /** The audit table, with its stream (NEW_IMAGE). */
  readonly table: ITable;
  /** The write-once evidence bucket and its key. */
  readonly bucket: IBucket;
  readonly key: IKey;
  /**
   * Attempts on a failing record (after bisecting the batch down to it) before it goes to the DLQ.
   * @default 10
   */
  readonly retryAttempts?: number;
}

/**
 * The evidence function on the table's stream: each audit event to the bucket, write-once. A failing batch
 * is bisected and retried; a record that still fails goes to an SQS dead-letter queue (never skipped
 * silently) and the DLQ alarm fires.
 */
export class EvidenceWriter extends Construct {
  public readonly function: BrokerFunction;
  public readonly deadLetterQueue: Queue;
  /** Fires when any record reached the DLQ: an event is not archived (or the table was rewritten). */
  public readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: EvidenceWriterProps) {
    super(scope, id);
    if (!props.table.tableStreamArn) throw new Error('EvidenceWriter: the table has no stream');
    this.function = new BrokerFunction(this, 'Function', {
      handler: 'evidence',
      policy: props.policy,
    }).bindEvidenceBucket(props.bucket, props.key, 'write');
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.deadLetterQueue, 'SQS3', 'This queue is the dead-letter queue of the evidence stream.');
    this.function.fn.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: props.retryAttempts ?? 10,
        onFailure: new SqsDlq(this.deadLetterQueue),
      }),
    );
    // The event source mapping grants dynamodb:ListStreams, which has no resource-level permissions.
    acknowledgeWildcard(this.function, '*', 'dynamodb:ListStreams only accepts Resource "*".');
    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        'JIT broker: an audit event could not be archived (see the evidence DLQ and the function log)',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
