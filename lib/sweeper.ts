import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { PolicyConfig } from '#core/policy/config.ts';
import { acknowledgeWildcard } from './acknowledge.ts';
import { BrokerFunction } from './broker-function.ts';

/** Props of {@link Sweeper}. */
export interface SweeperProps {
  /** The validated policy config: the sweeper deletes jit-* policies on its target patterns only. */
  readonly policy: PolicyConfig;
  /**
   * The config the function carries in its bundle.
   * @default policy
   */
  readonly bundledPolicy?: PolicyConfig;
  /** The audit table (the sweeper records what it revokes). */
  readonly table: ITable;
  /** The workflow, whose executions the reconciler describes. */
  readonly stateMachine: IStateMachine;
  /**
   * How often the sweeper runs (whole minutes, at least one).
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
 * The third layer of revocation: on a schedule, the sweeper revokes grants still held after their expiry,
 * removes stray jit-* policies from target principals and reconciles requests whose execution ended. An
 * alarm fires when it fails.
 *
 * Its resources are created in `scope` with the ids they had before the sweeper became its own construct
 * (`SweeperFunction`, `SweepSchedule`, `SweeperErrorsAlarm`): their logical ids, and so the deployed
 * function, its retained log group and the alarm, stay the same.
 */
export class Sweeper extends Construct {
  public readonly function: BrokerFunction;
  public readonly schedule: Rule;
  /** Fires when an invocation fails: a grant past its expiry may still be held. */
  public readonly errorsAlarm: Alarm;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.minutes(5);
    const minutes = interval.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < 1) {
      throw new Error(
        `Sweeper: interval must be a whole number of minutes, at least 1 (got ${interval.toHumanString()})`,
      );
    }

    this.function = new BrokerFunction(scope, 'SweeperFunction', {
      handler: 'sweeper',
      policy: props.bundledPolicy ?? props.policy,
      ...(props.roleName ? { roleName: props.roleName } : {}),
    })
      .bindTable(props.table)
      .bindTargets(props.policy, ['Delete', 'Get', 'List']);
    // To find stray jit-* policies the sweeper lists the account's roles and users (read-only; these list
    // actions have no resource-level permissions) and matches them against the target patterns itself.
    // With listed accounts it lists through each account's grantor instead.
    if (!props.policy.accounts) {
      this.function.fn.addToRolePolicy(
        new PolicyStatement({
          sid: 'FindTargetPrincipals',
          actions: ['iam:ListRoles', 'iam:ListUsers'],
          resources: ['*'],
        }),
      );
    }
    acknowledgeWildcard(
      this.function,
      '*',
      'X-Ray, plus iam:ListRoles/ListUsers (read-only, no resource-level permissions) so the sweeper can find stray jit-* policies on target principals.',
    );
    // The reconciler asks Step Functions whether a request's execution still runs.
    this.function
      .bindCredentialRoles(props.policy, 'sessionDeny')
      .bindStateMachine(props.stateMachine, ['describeExecution']);

    this.schedule = new Rule(scope, 'SweepSchedule', {
      description: 'JIT broker sweeper: revokes grants still held after expiry',
      schedule: Schedule.rate(interval),
      targets: [new LambdaFunction(this.function.fn, { retryAttempts: 2 })],
    });
    this.errorsAlarm = new Alarm(scope, 'SweeperErrorsAlarm', {
      alarmDescription: 'JIT broker: the sweeper could not revoke a grant past its expiry',
      metric: this.function.fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
