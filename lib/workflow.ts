import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Errors,
  Fail,
  IntegrationPattern,
  JsonPath,
  LogLevel,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledgeWildcard } from './acknowledge.ts';

/** The workflow's Lambda functions. */
export interface WorkflowFunctions {
  readonly validate: IFunction;
  readonly awaitApproval: IFunction;
  readonly grant: IFunction;
  readonly revoke: IFunction;
}

/** Props of {@link BrokerWorkflow}. */
export interface BrokerWorkflowProps {
  readonly functions: WorkflowFunctions;
  /** How long AwaitApproval waits for the callback before APPROVAL_EXPIRED. */
  readonly approvalWindow: Duration;
}

/** State names, shared with the local runtime and tests. */
export const STATE = {
  validate: 'Validate',
  autoApproved: 'AutoApproved?',
  awaitApproval: 'AwaitApproval',
  approvalExpired: 'ApprovalExpired',
  approved: 'Approved?',
  grant: 'Grant',
  compensate: 'CompensateGrant',
  grantFailed: 'GrantFailed',
  waitForExpiry: 'WaitForExpiry',
  revoke: 'Revoke',
  sessionCleanup: 'SessionCleanup?',
  waitForCredentialsExpiry: 'WaitForCredentialsExpiry',
  removeSessionDeny: 'RemoveSessionDeny',
  recordRevokeFailed: 'RecordRevokeFailed',
  revokeFailed: 'RevokeFailed',
  closed: 'Closed',
  done: 'Done',
} as const;

/** Errors our handlers throw that are worth another try (throttling, read-back not yet consistent). */
const RETRYABLE = ['RetryableAwsError', 'VerificationError'];

/**
 * The request-lifecycle state machine (Standard, JSONPath):
 * Validate → AutoApproved? → AwaitApproval (waitForTaskToken, TimeoutSeconds = approval window) →
 * Approved? → Grant (Catch → CompensateGrant → GrantFailed) → WaitForExpiry (TimestampPath) →
 * Revoke (Retry with backoff; Catch → RecordRevokeFailed → RevokeFailed) → Done.
 */
export class BrokerWorkflow extends Construct {
  public readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: BrokerWorkflowProps) {
    super(scope, id);
    if (props.approvalWindow.toSeconds() < 1) throw new Error('approvalWindow must be at least 1 second');
    const f = props.functions;
    const requestId = JsonPath.stringAt('$.requestId');

    const closed = new Succeed(this, STATE.closed, {
      comment: 'Rejected, denied, cancelled or expired: nothing granted',
    });
    const done = new Succeed(this, STATE.done);
    const grantFailed = new Fail(this, STATE.grantFailed, {
      error: 'GrantFailed',
      cause: 'The grant failed; compensation removed it',
    });
    const revokeFailed = new Fail(this, STATE.revokeFailed, {
      error: 'RevokeFailed',
      cause:
        'Revoke retries exhausted; the IAM expiry condition still ends the grant and the sweeper removes it',
    });

    const validate = new LambdaInvoke(this, STATE.validate, {
      lambdaFunction: f.validate,
      payload: TaskInput.fromObject({ requestId }),
      resultSelector: { 'outcome.$': '$.Payload.outcome' },
      resultPath: '$.validation',
    });

    const awaitApproval = new LambdaInvoke(this, STATE.awaitApproval, {
      lambdaFunction: f.awaitApproval,
      integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: TaskInput.fromObject({ requestId, taskToken: JsonPath.taskToken }),
      taskTimeout: Timeout.duration(props.approvalWindow),
      resultPath: '$.approval',
    });

    const approvalExpired = new LambdaInvoke(this, STATE.approvalExpired, {
      lambdaFunction: f.awaitApproval,
      payload: TaskInput.fromObject({ requestId, action: 'expire' }),
      resultPath: JsonPath.DISCARD,
    });

    const grant = new LambdaInvoke(this, STATE.grant, {
      lambdaFunction: f.grant,
      payload: TaskInput.fromObject({ requestId }),
      resultSelector: { 'expiresAt.$': '$.Payload.expiresAt' },
      resultPath: '$.grant',
    });

    const compensate = new LambdaInvoke(this, STATE.compensate, {
      lambdaFunction: f.revoke,
      payload: TaskInput.fromObject({ requestId, action: 'compensate', error: JsonPath.objectAt('$.error') }),
      resultPath: JsonPath.DISCARD,
    });

    const waitForExpiry = new Wait(this, STATE.waitForExpiry, {
      time: WaitTime.timestampPath('$.grant.expiresAt'),
    });

    const revoke = new LambdaInvoke(this, STATE.revoke, {
      lambdaFunction: f.revoke,
      payload: TaskInput.fromObject({ requestId, action: 'expire' }),
      resultSelector: {
        'status.$': '$.Payload.status',
        'alreadyRevoked.$': '$.Payload.alreadyRevoked',
        'kind.$': '$.Payload.kind',
        'cleanupAt.$': '$.Payload.cleanupAt',
      },
      resultPath: '$.revoke',
    });

    // A kind may need a cleanup after revoke at a later time (credentials: the session deny must outlive the
    // STS credentials, then it goes, as the role's inline-policy space is finite). The revoke result says
    // when (`cleanupAt`) or null; this Choice reads only that, never a kind name.
    const waitForCredentialsExpiry = new Wait(this, STATE.waitForCredentialsExpiry, {
      time: WaitTime.timestampPath('$.revoke.cleanupAt'),
    });
    const removeSessionDeny = new LambdaInvoke(this, STATE.removeSessionDeny, {
      lambdaFunction: f.revoke,
      payload: TaskInput.fromObject({ requestId, action: 'cleanup' }),
      resultPath: JsonPath.DISCARD,
    });
    removeSessionDeny.addRetry({
      errors: RETRYABLE,
      interval: Duration.seconds(2),
      maxAttempts: 6,
      backoffRate: 2,
      maxDelay: Duration.seconds(60),
    });
    const sessionCleanup = new Choice(this, STATE.sessionCleanup)
      .when(
        // The kind says whether it has a cleanup after revoke (a time) or not (null): no kind name here.
        Condition.isString('$.revoke.cleanupAt'),
        waitForCredentialsExpiry.next(removeSessionDeny).next(done),
      )
      .otherwise(done);

    const recordRevokeFailed = new LambdaInvoke(this, STATE.recordRevokeFailed, {
      lambdaFunction: f.revoke,
      payload: TaskInput.fromObject({ requestId, action: 'markFailed', error: JsonPath.objectAt('$.error') }),
      resultPath: JsonPath.DISCARD,
    });

    grant.addRetry({ errors: RETRYABLE, interval: Duration.seconds(2), maxAttempts: 3, backoffRate: 2 });
    grant.addCatch(compensate, { errors: [Errors.ALL], resultPath: '$.error' });
    compensate.addRetry({ errors: RETRYABLE, interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2 });
    compensate.next(grantFailed);

    revoke.addRetry({
      errors: RETRYABLE,
      interval: Duration.seconds(2),
      maxAttempts: 6,
      backoffRate: 2,
      maxDelay: Duration.seconds(60),
    });
    revoke.addCatch(recordRevokeFailed, { errors: [Errors.ALL], resultPath: '$.error' });
    recordRevokeFailed.addRetry({
      errors: [Errors.ALL],
      interval: Duration.seconds(2),
      maxAttempts: 3,
      backoffRate: 2,
    });
    recordRevokeFailed.next(revokeFailed);

    awaitApproval.addCatch(approvalExpired, { errors: [Errors.TIMEOUT], resultPath: '$.error' });
    // Cancelled between Validate and AwaitApproval: the step refuses and the workflow just ends.
    awaitApproval.addCatch(closed, { errors: ['ConflictError'], resultPath: '$.error' });
    approvalExpired.next(closed);

    const grantChain = grant.next(waitForExpiry).next(revoke).next(sessionCleanup);

    const definition = validate.next(
      new Choice(this, STATE.autoApproved)
        .when(Condition.stringEquals('$.validation.outcome', 'AUTO_APPROVED'), grantChain)
        .when(
          Condition.stringEquals('$.validation.outcome', 'APPROVAL_REQUIRED'),
          awaitApproval.next(
            new Choice(this, STATE.approved)
              .when(Condition.stringEquals('$.approval.decision', 'APPROVED'), grant)
              .otherwise(closed),
          ),
        )
        .otherwise(closed),
    );

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'Logs', {
          retention: RetentionDays.ONE_YEAR,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    acknowledgeWildcard(
      this.stateMachine,
      '*',
      'Step Functions log delivery (logs:*LogDelivery, DescribeLogGroups/ResourcePolicies) and X-Ray tracing only accept Resource "*".',
    );
    for (const fn of new Set(Object.values(f))) {
      acknowledgeWildcard(
        this.stateMachine,
        `${fn.functionArn}:*`,
        'CDK grants lambda:InvokeFunction on the versions/aliases of the broker functions the state machine invokes.',
      );
    }
  }
}
