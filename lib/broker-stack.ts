import {
  Aws,
  type CfnElement,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { PolicyConfig } from '#core/policy/config.ts';
import { ENV } from '#lambdas/config.ts';
import { METRICS_NAMESPACE } from '#lambdas/logger.ts';
import { BrokerApi, SLACK_ROUTE } from './broker-api.ts';
import { BrokerFunction, type HandlerName } from './broker-function.ts';
import { SlackIntegration } from './slack-integration.ts';
import { BrokerWorkflow } from './workflow.ts';

/** Props of {@link BrokerStack}. */
export interface BrokerStackProps extends StackProps {
  /** The validated policy config (validated again at every cold start). */
  readonly policy: PolicyConfig;
  /** The audit table from the stateful stack. */
  readonly table: ITable;
}

type IamVerb = 'Put' | 'Get' | 'Delete' | 'List';

/** The target ARN patterns of the config for one principal type, deduplicated. */
export function targetPatterns(policy: PolicyConfig, type: 'role' | 'user'): string[] {
  return [...new Set(policy.rules.flatMap((r) => r.targets).filter((t) => t.includes(`:${type}/`)))];
}

/** The role ARN patterns of the config's credentials rules (the roles the broker may assume). */
export function credentialRolePatterns(policy: PolicyConfig): string[] {
  return [...new Set(policy.rules.filter((r) => r.kind === 'credentials').flatMap((r) => r.targets))];
}

/**
 * The stateless part: the five functions, the state machine and the REST API. IAM write permissions reach
 * only the target ARN patterns of the config, and an explicit Deny keeps the broker off its own roles and
 * the configured protected principals.
 */
export class BrokerStack extends Stack {
  public readonly workflow: BrokerWorkflow;
  public readonly api: BrokerApi;
  /** The broker's functions by handler name (the Slack callback is `slack.callback`). */
  public readonly functions: Readonly<Record<Exclude<HandlerName, 'slack'>, BrokerFunction>>;
  /** Slack approvals, when the config has a `slack` section. */
  public readonly slack?: SlackIntegration;
  /** Alarms to route to the on-call (attach an SNS action): failed executions, sweeper errors. */
  public readonly alarms: readonly Alarm[];
  /** The KMS key that seals STS credentials until collection (grant: Encrypt, API: Decrypt). */
  public readonly credentialsKey: Key;
  /** The config the functions carry: the validated one plus this stack's own roles as protected. */
  public readonly bundledPolicy: PolicyConfig;
  /** The validated policy config this stack was built from. */
  public readonly policy: PolicyConfig;
  readonly #policy: PolicyConfig;

  constructor(scope: Construct, id: string, props: BrokerStackProps) {
    super(scope, id, props);
    this.#policy = props.policy;
    this.policy = props.policy;
    // The functions' own copy of the config also protects this stack's roles, so the core refuses them
    // (case-insensitively, with or without a path) before the IAM Deny below ever has to.
    const bundled: PolicyConfig = {
      ...props.policy,
      protectedPrincipals: [...props.policy.protectedPrincipals, `arn:aws:iam::*:role/${this.stackName}-*`],
    };
    this.bundledPolicy = bundled;
    const make = (handler: HandlerName, construct: string) =>
      new BrokerFunction(this, construct, { handler, policy: bundled }).bindTable(props.table);

    const validate = make('validate', 'ValidateFunction');
    const awaitApproval = make('await-approval', 'AwaitApprovalFunction');
    const grant = make('grant', 'GrantFunction');
    const revoke = make('revoke', 'RevokeFunction');
    const api = make('api', 'ApiFunction');
    const sweeper = make('sweeper', 'SweeperFunction');
    this.functions = { validate, 'await-approval': awaitApproval, grant, revoke, api, sweeper };

    this.#grantTargets(grant, ['Put', 'Get']);
    this.#grantTargets(revoke, ['Delete', 'Get']);
    this.#grantTargets(sweeper, ['Delete', 'Get', 'List']);
    // To find stray jit-* policies the sweeper lists the account's roles and users (read-only; these list
    // actions have no resource-level permissions) and matches them against the target patterns itself.
    sweeper.fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'FindTargetPrincipals',
        actions: ['iam:ListRoles', 'iam:ListUsers'],
        resources: ['*'],
      }),
    );

    // Credentials grants: the grant function assumes the credential roles; revoke paths put the
    // session-deny policy on them. The STS credentials wait for collection sealed by this stack's key.
    this.credentialsKey = new Key(this, 'CredentialsKey', {
      description: 'JIT broker: seals STS credentials until the requester collects them',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const credentialRoles = credentialRolePatterns(props.policy);
    if (credentialRoles.length > 0) {
      grant.fn.addToRolePolicy(
        new PolicyStatement({
          sid: 'AssumeCredentialRoles',
          actions: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
          resources: credentialRoles,
        }),
      );
      // The grant only reads the role id; the revoke paths (revoke function, which also runs early revokes
      // for the API, and the sweeper) write the deny. The API function itself holds no IAM permission.
      grant.fn.addToRolePolicy(
        new PolicyStatement({
          sid: 'ReadCredentialRoles',
          actions: ['iam:GetRole'],
          resources: credentialRoles,
        }),
      );
      for (const fn of [revoke, sweeper]) {
        fn.fn.addToRolePolicy(
          new PolicyStatement({
            sid: 'SessionDenyOnCredentialRoles',
            actions: [
              'iam:GetRole',
              'iam:ListRolePolicies',
              'iam:PutRolePolicy',
              'iam:GetRolePolicy',
              'iam:DeleteRolePolicy',
            ],
            resources: credentialRoles,
          }),
        );
      }
    }
    for (const [fn, action] of [
      [grant, 'kms:Encrypt'],
      [api, 'kms:Decrypt'],
    ] as const) {
      fn.fn.addEnvironment(ENV.credentialsKeyId, this.credentialsKey.keyArn);
      fn.fn.addToRolePolicy(
        new PolicyStatement({
          sid: 'CredentialsKey',
          actions: [action],
          resources: [this.credentialsKey.keyArn],
        }),
      );
    }

    this.workflow = new BrokerWorkflow(this, 'Workflow', {
      functions: {
        validate: validate.fn,
        awaitApproval: awaitApproval.fn,
        grant: grant.fn,
        revoke: revoke.fn,
      },
      approvalWindow: Duration.seconds(props.policy.approvalWindowSeconds),
    });
    const sm = this.workflow.stateMachine;
    api.fn.addEnvironment(ENV.stateMachineArn, sm.stateMachineArn);
    sm.grantStartExecution(api.fn);
    sm.grantTaskResponse(api.fn);
    // Early revoke: the API hands the IAM work to the revoke function (it holds no IAM/STS permission).
    api.fn.addEnvironment(ENV.revokeFunctionName, revoke.fn.functionName);
    api.fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'EarlyRevokeByRevokeFunction',
        actions: ['lambda:InvokeFunction'],
        resources: [revoke.fn.functionArn],
      }),
    );
    // The reconciler asks Step Functions whether a request's execution still runs.
    sweeper.fn.addEnvironment(ENV.stateMachineArn, sm.stateMachineArn);
    sm.grantExecution(sweeper.fn, 'states:DescribeExecution');
    const smId = this.getLogicalId(sm.node.defaultChild as CfnElement);
    Validations.of(sweeper.fn).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${smId}"}]}]}:*]`,
      reason:
        "states:DescribeExecution (read-only) on this state machine's executions: one per request, named by its id, so the reconciler can find requests whose execution ended.",
    });

    if (props.policy.slack) {
      this.slack = new SlackIntegration(this, 'Slack', {
        policy: bundled,
        table: props.table,
        stateMachine: sm,
        cardWriters: [awaitApproval, grant, revoke, api],
      });
    }
    this.api = new BrokerApi(this, 'Http', {
      handler: api.fn,
      ...(this.slack ? { slackHandler: this.slack.callback.fn } : {}),
    });
    if (this.slack) {
      new CfnOutput(this, 'SlackInteractionsUrl', { value: this.api.api.urlForPath(SLACK_ROUTE.path) });
    }

    // The third layer: every 5 minutes, revoke grants still held 15 minutes after their expiry.
    new Rule(this, 'SweepSchedule', {
      description: 'JIT broker sweeper: revokes grants still held after expiry',
      schedule: Schedule.rate(Duration.minutes(5)),
      targets: [new LambdaFunction(sweeper.fn, { retryAttempts: 2 })],
    });
    // Only real failures page: a compensated grant or a revoke whose retries ran out, counted by the revoke
    // function (EMF). A request that merely closed early (cancelled, expired) fails nothing, and an
    // execution failed for any other reason is reconciled by the sweeper.
    const outcome = (metricName: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { Broker: this.stackName },
        period: Duration.minutes(5),
        statistic: 'Sum',
      });
    this.alarms = [
      new Alarm(this, 'WorkflowFailedAlarm', {
        alarmDescription:
          'JIT broker: a grant failed (compensated) or a revoke ran out of retries; see the audit log',
        metric: new MathExpression({
          expression: 'FILL(grantFailed, 0) + FILL(revokeFailed, 0)',
          usingMetrics: { grantFailed: outcome('GrantFailed'), revokeFailed: outcome('RevokeFailed') },
          label: 'GrantFailed + RevokeFailed',
          period: Duration.minutes(5),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      new Alarm(this, 'SweeperErrorsAlarm', {
        alarmDescription: 'JIT broker: the sweeper could not revoke a grant past its expiry',
        metric: sweeper.fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    ];

    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url });
    new CfnOutput(this, 'StateMachineArn', { value: sm.stateMachineArn });
    new CfnOutput(this, 'GrantRoleArn', {
      description:
        'Trust this role (sts:AssumeRole, sts:SetSourceIdentity, sts:TagSession) on credential roles',
      value: grant.fn.role?.roleArn ?? '',
    });
  }

  /**
   * Lets `fn` call `iam:<Verb>RolePolicy`/`<Verb>UserPolicy` on the config's target patterns only, and
   * denies the same on this app's own roles and the protected principals (a Deny beats any Allow).
   */
  #grantTargets(fn: BrokerFunction, verbs: readonly IamVerb[]): void {
    for (const type of ['role', 'user'] as const) {
      const resources = targetPatterns(this.#policy, type);
      if (resources.length === 0) continue;
      const kind = type === 'role' ? 'Role' : 'User';
      const actions = verbs.map((v) => (v === 'List' ? `iam:List${kind}Policies` : `iam:${v}${kind}Policy`));
      fn.fn.addToRolePolicy(new PolicyStatement({ sid: `JitTargets${type}`, actions, resources }));
    }
    const ownRoles = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${this.stackName}-*`;
    fn.fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'NeverTouchBrokerOrProtected',
        effect: Effect.DENY,
        actions: [
          'iam:PutRolePolicy',
          'iam:DeleteRolePolicy',
          'iam:PutUserPolicy',
          'iam:DeleteUserPolicy',
          'sts:AssumeRole',
        ],
        resources: [ownRoles, ...this.#policy.protectedPrincipals],
      }),
    );
  }
}
