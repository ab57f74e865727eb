import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { PolicyConfig } from '#core/policy/config.ts';
import { METRICS_NAMESPACE } from '#lambdas/runtime/logger.ts';
import { acknowledgeWildcard } from './acknowledge.ts';
import { BrokerFunction } from './broker-function.ts';
import { grantCloudTrailQuery } from './cloudtrail-table.ts';

/** Props of {@link AuditReview}. */
export interface AuditReviewProps {
  /** The validated policy config as written (accounts, `audit.athena`). */
  readonly policy: PolicyConfig;
  /**
   * The config the function carries in its bundle.
   * @default policy
   */
  readonly bundledPolicy?: PolicyConfig;
  /** The audit table (review passes, break-glass follow-ups). */
  readonly table: ITable;
  /** Where break-glass alerts go, with the topic's key. */
  readonly alertTopic: ITopic;
  readonly alertKey: IKey;
  /**
   * How often the follow-ups run (whole minutes, at least one).
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
  /**
   * A fixed execution role name (the grantor roles trust it by ARN).
   * @default a name CloudFormation generates
   */
  readonly roleName?: string;
}

/**
 * The audit review function: on a schedule it stores review passes and notes overdue break-glass reviews
 * (`{"action":"followUps"}`), and the API invokes it for on-demand CloudTrail reads (`{"action":"find"}`).
 * It reads CloudTrail's event history in each target account through the grantor role (in its own account
 * without an `accounts` list), and the organization trail through Athena when `audit.athena` is set. An
 * alarm fires when a break-glass review is overdue.
 */
export class AuditReview extends Construct {
  public readonly function: BrokerFunction;
  public readonly schedule: Rule;
  /** Fires when a break-glass grant was not reviewed in time (the function's EMF metric). */
  public readonly overdueAlarm: Alarm;

  constructor(scope: Construct, id: string, props: AuditReviewProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.minutes(5);
    const minutes = interval.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < 1) {
      throw new Error(
        `AuditReview: interval must be a whole number of minutes, at least 1 (got ${interval.toHumanString()})`,
      );
    }
    const stack = Stack.of(this);
    this.function = new BrokerFunction(scope, 'ReviewFunction', {
      handler: 'review',
      policy: props.bundledPolicy ?? props.policy,
      // A review may page through LookupEvents at 2 calls per second per account and region.
      timeout: Duration.minutes(10),
      memorySize: 1024,
      ...(props.roleName ? { roleName: props.roleName } : {}),
    })
      .bindTable(props.table)
      .bindAlertTopic(props.alertTopic, props.alertKey);
    if (props.policy.accounts) {
      this.function.bindGrantors(props.policy);
    } else {
      this.function.fn.addToRolePolicy(
        new PolicyStatement({
          sid: 'ReadEventHistory',
          actions: ['cloudtrail:LookupEvents'],
          resources: ['*'],
        }),
      );
    }
    acknowledgeWildcard(
      this.function,
      '*',
      'X-Ray, plus cloudtrail:LookupEvents (read-only event history; it has no resource-level permissions) in single-account mode.',
    );
    const athena = props.policy.audit.athena;
    if (athena) {
      const role = this.function.fn.role;
      if (!role) throw new Error('AuditReview: the review function has no execution role');
      grantCloudTrailQuery(role, {
        database: athena.database,
        table: athena.table,
        workgroup: athena.workgroup,
        outputLocation: athena.outputLocation,
        ...(athena.trailLocation ? { trailLocation: athena.trailLocation } : {}),
      });
    }

    this.schedule = new Rule(scope, 'ReviewSchedule', {
      description: 'JIT broker audit review: stores review passes, notes overdue break-glass reviews',
      schedule: Schedule.rate(interval),
      targets: [
        new LambdaFunction(this.function.fn, {
          event: RuleTargetInput.fromObject({ action: 'followUps' }),
          retryAttempts: 2,
        }),
      ],
    });
    this.overdueAlarm = new Alarm(scope, 'BreakGlassReviewOverdueAlarm', {
      alarmDescription:
        'JIT broker: a break-glass grant was not reviewed in time (see the audit log and the alert topic)',
      metric: new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'BreakGlassReviewsOverdue',
        dimensionsMap: { Broker: stack.stackName },
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
