import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { listedAccounts } from '#core/policy/accounts.ts';
import { type PolicyConfig, parsePolicyConfig } from '#core/policy/config.ts';
import { METRICS_NAMESPACE } from '#lambdas/runtime/logger.ts';
import { ActivityHub } from './activity-events.ts';
import { AlertTopic } from './alert-topic.ts';
import { acknowledgeApiFindings } from './api-acknowledgements.ts';
import { AuditReview } from './audit-review.ts';
import { BrokerApi, SLACK_ROUTE } from './broker-api.ts';
import {
  type AuditHandlerName,
  BrokerFunction,
  brokerRoleName,
  GRANTOR_CALLERS,
  type GrantorCaller,
  type HandlerName,
} from './broker-function.ts';
import { CredentialsVault } from './credentials-vault.ts';
import type { EvidenceBucket } from './evidence-bucket.ts';
import { EvidenceDigest } from './evidence-digest.ts';
import { EvidenceWriter } from './evidence-writer.ts';
import { ALWAYS_GUARDED_ROLES } from './grantor-stack.ts';
import { SlackIntegration } from './slack-integration.ts';
import { Sweeper } from './sweeper.ts';
import { BrokerWorkflow } from './workflow.ts';

/** Props of {@link BrokerStack}. */
export interface BrokerStackProps extends StackProps {
  /** The validated policy config (validated again here, and at every cold start). */
  readonly policy: PolicyConfig;
  /** The audit table from the stateful stack. */
  readonly table: ITable;
  /** The write-once evidence bucket from the stateful stack, fed from the table's stream. */
  readonly evidence: EvidenceBucket;
}

/**
 * The stateless part: the broker functions, the state machine, the REST API, the credentials vault and the
 * sweeper. IAM write permissions reach only the target ARN patterns of the config, and an explicit Deny
 * keeps the broker off its own roles and the configured protected principals.
 */
export class BrokerStack extends Stack {
  public readonly workflow: BrokerWorkflow;
  public readonly api: BrokerApi;
  /** The broker's functions by handler name (the Slack callback is `slack.callback`). */
  public readonly functions: Readonly<
    Record<Exclude<HandlerName | AuditHandlerName, 'slack'>, BrokerFunction>
  >;
  /** Slack approvals, when the config has a `slack` section. */
  public readonly slack?: SlackIntegration;
  /** Revokes what outlived its expiry, every 5 minutes. */
  public readonly sweeper: Sweeper;
  /** Archives every audit event write-once (the table's stream). */
  public readonly evidenceWriter: EvidenceWriter;
  /** The daily digest of the evidence archive (scheduled). */
  public readonly evidenceDigest: EvidenceDigest;
  /** Seals STS credentials until collection (grant: Encrypt, API: Decrypt). */
  public readonly vault: CredentialsVault;
  /** The KMS key of {@link vault}. */
  public readonly credentialsKey: Key;
  /** The audit review (scheduled follow-ups, on-demand CloudTrail reads for the API). */
  public readonly review: AuditReview;
  /** Where the JIT sessions' CloudTrail records reach the first-use function. */
  public readonly activity: ActivityHub;
  /** Break-glass alerts and the overdue-review alarm publish here. */
  public readonly alertTopic: AlertTopic;
  /** Alarms to route to the on-call (attach an SNS action): failed executions, sweeper errors. */
  public readonly alarms: readonly Alarm[];
  /** The config the functions carry: the validated one plus this stack's own roles as protected. */
  public readonly bundledPolicy: PolicyConfig;
  /** The validated policy config this stack was built from. */
  public readonly policy: PolicyConfig;

  constructor(scope: Construct, id: string, props: BrokerStackProps) {
    super(scope, id, props);
    this.policy = props.policy;
    // The functions' own copy of the config also protects this stack's roles, so the core refuses them
    // (case-insensitively, with or without a path) before the IAM Deny ever has to. Validated here with
    // the very check the functions run at cold start, so a config they would refuse never deploys.
    // With listed accounts the core also refuses what every grantor denies (the grantor roles, SSO-reserved
    // and service-linked roles, OrganizationAccountAccessRole), so a request for one fails validation
    // instead of failing at the grantor.
    const grantorGuarded = props.policy.accounts
      ? [...new Set(listedAccounts(props.policy).map((a) => a.grantorRoleName)), ...ALWAYS_GUARDED_ROLES].map(
          (name) => `arn:aws:iam::*:role/${name}`,
        )
      : [];
    this.bundledPolicy = {
      ...props.policy,
      protectedPrincipals: [
        ...props.policy.protectedPrincipals,
        `arn:aws:iam::*:role/${this.stackName}-*`,
        ...grantorGuarded,
      ],
    };
    parsePolicyConfig(this.bundledPolicy);

    // The grantor roles trust the grant, revoke, sweeper and review roles by ARN: with listed accounts, their names
    // are fixed (and inside the protected `<stackName>-*`).
    const roleName = (handler: HandlerName | AuditHandlerName) =>
      props.policy.accounts && (GRANTOR_CALLERS as readonly string[]).includes(handler)
        ? { roleName: brokerRoleName(this.stackName, handler as GrantorCaller) }
        : {};
    const fn = (handler: HandlerName | AuditHandlerName, id: string) =>
      new BrokerFunction(this, id, {
        handler,
        policy: this.bundledPolicy,
        ...roleName(handler),
      }).bindTable(props.table);
    const validate = fn('validate', 'ValidateFunction');
    const awaitApproval = fn('await-approval', 'AwaitApprovalFunction');
    const grant = fn('grant', 'GrantFunction')
      .bindTargets(props.policy, ['Put', 'Get'])
      .bindCredentialRoles(props.policy, 'assume');
    // The revoke function also runs the API's early revokes: the API function holds no IAM permission.
    const revoke = fn('revoke', 'RevokeFunction')
      .bindTargets(props.policy, ['Delete', 'Get'])
      .bindCredentialRoles(props.policy, 'sessionDeny');
    const api = fn('api', 'ApiFunction');
    this.alertTopic = new AlertTopic(this, 'AlertTopic');
    // Break-glass grants are announced the moment they are made.
    grant.bindAlertTopic(this.alertTopic.topic, this.alertTopic.key);
    this.vault = new CredentialsVault(this, 'CredentialsVault', { sealers: [grant], openers: [api] });
    this.credentialsKey = this.vault.key;

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
    api.bindStateMachine(sm, ['start', 'taskResponse']).bindRevokeFunction(revoke);
    this.sweeper = new Sweeper(this, 'Sweeper', {
      policy: props.policy,
      bundledPolicy: this.bundledPolicy,
      table: props.table,
      stateMachine: sm,
      ...roleName('sweeper'),
    });
    const sweeper = this.sweeper.function;
    this.evidenceWriter = new EvidenceWriter(this, 'Evidence', {
      policy: this.bundledPolicy,
      table: props.table,
      bucket: props.evidence.bucketIn(this, 'EvidenceBucket'),
      key: props.evidence.key,
    });
    const evidence = this.evidenceWriter.function;
    this.evidenceDigest = new EvidenceDigest(this, 'EvidenceDigest', {
      policy: this.bundledPolicy,
      bucket: props.evidence.bucketIn(this, 'EvidenceBucketForDigest'),
      key: props.evidence.key,
    });
    const digest = this.evidenceDigest.function;
    this.review = new AuditReview(this, 'AuditReview', {
      policy: props.policy,
      bundledPolicy: this.bundledPolicy,
      table: props.table,
      alertTopic: this.alertTopic.topic,
      alertKey: this.alertTopic.key,
      ...roleName('review'),
    });
    const review = this.review.function;
    this.alertTopic.notify(this.review.overdueAlarm);
    // The API answers on-demand reviews through the review function: no CloudTrail, Athena or STS of its own.
    api.bindReviewFunction(review);
    const firstUse = fn('first-use', 'FirstUseFunction');
    this.activity = new ActivityHub(this, 'Activity', {
      target: firstUse.fn,
      ...(props.policy.accounts
        ? {
            accounts: listedAccounts(props.policy).map((a) => a.id),
            ...(props.policy.organizationId ? { organizationId: props.policy.organizationId } : {}),
          }
        : {}),
    });
    api.bindEvidenceBucket(props.evidence.bucketIn(this, 'EvidenceBucketForApi'), props.evidence.key, 'read');
    this.functions = {
      validate,
      'await-approval': awaitApproval,
      grant,
      revoke,
      api,
      sweeper,
      evidence,
      digest,
      review,
      'first-use': firstUse,
    };

    if (props.policy.slack) {
      this.slack = new SlackIntegration(this, 'Slack', {
        policy: this.bundledPolicy,
        table: props.table,
        stateMachine: sm,
        cardWriters: [awaitApproval, grant, revoke, api, firstUse],
      });
    }
    this.api = new BrokerApi(this, 'Http', {
      handler: api.fn,
      ...(this.slack ? { slackHandler: this.slack.callback.fn } : {}),
    });
    acknowledgeApiFindings(this.api);
    if (this.slack) {
      new CfnOutput(this, 'SlackInteractionsUrl', { value: this.api.api.urlForPath(SLACK_ROUTE.path) });
    }

    this.alarms = [
      workflowFailedAlarm(this),
      this.sweeper.errorsAlarm,
      this.evidenceWriter.deadLetterAlarm,
      this.evidenceDigest.errorsAlarm,
      this.review.overdueAlarm,
    ];
    new CfnOutput(this, 'AlertTopicArn', {
      description: 'Subscribe the on-call: break-glass grants and overdue break-glass reviews',
      value: this.alertTopic.topic.topicArn,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url });
    new CfnOutput(this, 'StateMachineArn', { value: sm.stateMachineArn });
    new CfnOutput(this, 'GrantRoleArn', {
      description:
        'Trust this role (sts:AssumeRole, sts:SetSourceIdentity, sts:TagSession) on credential roles',
      value: grant.fn.role?.roleArn ?? '',
    });
  }
}

/**
 * Only real failures page: a compensated grant or a revoke whose retries ran out, counted by the revoke
 * function (EMF). A request that merely closed early (cancelled, expired) fails nothing, and an execution
 * failed for any other reason is reconciled by the sweeper.
 */
function workflowFailedAlarm(stack: Stack): Alarm {
  const outcome = (metricName: string) =>
    new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { Broker: stack.stackName },
      period: Duration.minutes(5),
      statistic: 'Sum',
    });
  return new Alarm(stack, 'WorkflowFailedAlarm', {
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
  });
}
