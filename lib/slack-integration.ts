import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { PolicyConfig } from '#core/policy/config.ts';
import type { SlackConfig } from '#core/policy/slack-config.ts';
import { acknowledge } from './acknowledge.ts';
import { BrokerFunction } from './broker-function.ts';

/** Props of {@link SlackIntegration}. */
export interface SlackIntegrationProps {
  /** The validated policy config; its `slack` section must be present. */
  readonly policy: PolicyConfig;
  /** The audit table (the callback decides requests and keeps the card record on the request item). */
  readonly table: ITable;
  /** The workflow, whose approval task tokens the callback answers. */
  readonly stateMachine: IStateMachine;
  /** Functions that post or refresh request cards: they get the bot token, never the signing secret. */
  readonly cardWriters: readonly BrokerFunction[];
  /** @default 1024 (CPU scales with memory: a faster cold start for Slack's 3-second deadline) */
  readonly callbackMemorySize?: number;
}

/**
 * Slack approvals: the callback function behind `POST /slack/interactions`, and the two secret placeholders
 * (random until the operator stores the real values). The signing secret is readable by the callback only;
 * the bot token by the callback and the functions that post or refresh cards. The callback may answer the
 * workflow's task tokens (SendTaskSuccess) and nothing else in Step Functions.
 */
export class SlackIntegration extends Construct {
  public readonly callback: BrokerFunction;
  public readonly signingSecret: Secret;
  public readonly botToken: Secret;
  public readonly config: SlackConfig;

  constructor(scope: Construct, id: string, props: SlackIntegrationProps) {
    super(scope, id);
    const slack = props.policy.slack;
    if (!slack) throw new Error('SlackIntegration needs a policy config with a slack section');
    this.config = slack;
    const stackName = Stack.of(this).stackName;
    const signingSecretName = slack.signingSecretName ?? `${stackName}/slack/signing-secret`;
    const botTokenName = slack.botTokenSecretName ?? `${stackName}/slack/bot-token`;
    this.signingSecret = new Secret(this, 'SigningSecret', {
      secretName: signingSecretName,
      description: 'Slack app signing secret (Basic Information > App Credentials); verifies callbacks',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    this.botToken = new Secret(this, 'BotToken', {
      secretName: botTokenName,
      description: 'Slack bot token (xoxb-…, OAuth & Permissions, scope chat:write); posts request cards',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    for (const secret of [this.signingSecret, this.botToken]) {
      acknowledge(
        secret,
        'SMG4',
        'Issued by Slack, not by us: rotation means regenerating it in the Slack app settings and storing the new value, which a Secrets Manager rotation Lambda cannot drive.',
      );
    }

    this.callback = new BrokerFunction(this, 'Callback', {
      handler: 'slack',
      policy: props.policy,
      memorySize: props.callbackMemorySize ?? 1024,
      timeout: Duration.seconds(10),
    })
      .bindTable(props.table)
      .bindStateMachine(props.stateMachine, ['taskResponse'])
      .bindSlackSigningSecret(this.signingSecret);
    for (const fn of [this.callback, ...props.cardWriters]) fn.bindSlackBotToken(this.botToken);

    const stack = Stack.of(this);
    new CfnOutput(stack, 'SlackSigningSecretName', { value: signingSecretName });
    new CfnOutput(stack, 'SlackBotTokenSecretName', { value: botTokenName });
  }
}
