import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { PolicyConfig } from '#core/policy/config.ts';
import { BrokerFunction } from './broker-function.ts';

/** Props of {@link EvidenceDigest}. */
export interface EvidenceDigestProps {
  /** The config the function carries in its bundle (every broker function carries it). */
  readonly policy: PolicyConfig;
  /** The write-once evidence bucket and its key. */
  readonly bucket: IBucket;
  readonly key: IKey;
}

/**
 * The daily digest function: at 00:30 UTC, writes `digests/<day>.json` for the day that just ended (and any
 * day missed before it), each naming the last seq and hash of every request that changed that day, chained
 * from the previous day's digest. It reads the head markers the evidence function leaves and writes only
 * digests (no delete, no retention change); an error alarms.
 */
export class EvidenceDigest extends Construct {
  public readonly function: BrokerFunction;
  public readonly schedule: Rule;
  public readonly errorsAlarm: Alarm;

  constructor(scope: Construct, id: string, props: EvidenceDigestProps) {
    super(scope, id);
    this.function = new BrokerFunction(this, 'Function', {
      handler: 'digest',
      policy: props.policy,
    }).bindEvidenceBucket(props.bucket, props.key, 'digest');
    this.schedule = new Rule(this, 'Schedule', {
      description: "JIT broker: the evidence archive's daily digest of the previous day",
      schedule: Schedule.cron({ minute: '30', hour: '0' }),
      targets: [new LambdaFunction(this.function.fn, { retryAttempts: 2 })],
    });
    this.errorsAlarm = new Alarm(this, 'ErrorsAlarm', {
      alarmDescription: 'JIT broker: the daily evidence digest could not be written',
      metric: this.function.fn.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
