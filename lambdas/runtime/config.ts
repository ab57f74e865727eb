import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '#core/errors.ts';
import { type PolicyConfig, parsePolicyConfig, targetAccount } from '#core/policy/config.ts';

/** File name of the validated policy config that the CDK copies next to each Lambda bundle. */
export const POLICY_FILE_NAME = 'jit-policy.json';

/** Environment variable names, shared with the CDK constructs that set them. */
export const ENV = {
  tableName: 'JIT_TABLE_NAME',
  stateMachineArn: 'JIT_STATE_MACHINE_ARN',
  policyFile: 'JIT_POLICY_FILE',
  handler: 'JIT_HANDLER',
  accountId: 'JIT_ACCOUNT_ID',
  slackSigningSecretArn: 'JIT_SLACK_SIGNING_SECRET_ARN',
  slackBotTokenArn: 'JIT_SLACK_BOT_TOKEN_ARN',
  slackApiUrl: 'JIT_SLACK_API_URL',
  credentialsKeyId: 'JIT_CREDENTIALS_KEY_ID',
  brokerName: 'JIT_BROKER_NAME',
  revokeFunctionName: 'JIT_REVOKE_FUNCTION_NAME',
  evidenceBucket: 'JIT_EVIDENCE_BUCKET',
  reviewFunctionName: 'JIT_REVIEW_FUNCTION_NAME',
  alertTopicArn: 'JIT_ALERT_TOPIC_ARN',
} as const;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is not set`);
  return value;
}

/** The audit table's name. */
export function tableName(): string {
  return required(ENV.tableName);
}

/** The broker state machine's ARN (API function only). */
export function stateMachineArn(): string {
  return required(ENV.stateMachineArn);
}

/** The KMS key that seals STS credentials until collection (grant and API functions). */
export function credentialsKeyId(): string {
  return required(ENV.credentialsKeyId);
}

/** The broker's stack name: the dimension of its metrics. */
export function brokerName(): string {
  return process.env[ENV.brokerName] || 'jit-broker';
}

/**
 * The RoleSessionName this function uses on the target accounts' grantor roles (`jit-grant`, `jit-revoke`,
 * `jit-sweeper`): each account's CloudTrail names the function behind every IAM call.
 */
export function grantorSessionName(): string {
  return `jit-${process.env[ENV.handler] || 'broker'}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

/** The revoke function the API hands early revokes to (API function only). */
export function revokeFunctionName(): string {
  return required(ENV.revokeFunctionName);
}

/** The function's own region (Lambda sets `AWS_REGION`); us-east-1 when unset. */
export function functionRegion(): string {
  return process.env.AWS_REGION || 'us-east-1';
}

/** The audit review function the API asks for CloudTrail reads (API function only). */
export function reviewFunctionName(): string {
  return required(ENV.reviewFunctionName);
}

/** The SNS topic of break-glass alerts and overdue reviews; undefined where the function has none. */
export function alertTopicArn(): string | undefined {
  return process.env[ENV.alertTopicArn] || undefined;
}

/** The write-once evidence bucket (evidence function, and the API function that verifies against it). */
export function evidenceBucket(): string {
  return required(ENV.evidenceBucket);
}

let cached: PolicyConfig | undefined;

/**
 * The policy config, read once per cold start from the bundle and validated with the same rules as at
 * synth. A broken file fails the cold start loudly instead of granting on a half-read config.
 */
export function policyConfig(): PolicyConfig {
  if (!cached) {
    const file = process.env[ENV.policyFile] ?? join(import.meta.dirname, POLICY_FILE_NAME);
    const config = parsePolicyConfig(JSON.parse(readFileSync(file, 'utf8')));
    // Without an `accounts` list the IAM port writes by name in this account: targets elsewhere would land
    // on same-named local roles. With one, validation already keeps every target in a listed account,
    // each reached through its own grantor, so there is nothing to compare (targetAccount is undefined).
    const account = process.env[ENV.accountId];
    const targets = targetAccount(config);
    if (account && targets && account !== targets) {
      throw new ConfigError(
        `the config's targets are in account ${targets}, but the broker runs in ${account}`,
      );
    }
    cached = config;
  }
  return cached;
}

/** Slack settings of this function: the secrets it was granted (by ARN) and an optional API base URL. */
export interface SlackEnv {
  readonly signingSecretArn?: string;
  readonly botTokenArn?: string;
  readonly apiUrl?: string;
}

/** The Slack settings the CDK gave this function; none at all means Slack is off here. */
export function slackEnv(): SlackEnv {
  const pick = (name: string) => process.env[name] || undefined;
  const signingSecretArn = pick(ENV.slackSigningSecretArn);
  const botTokenArn = pick(ENV.slackBotTokenArn);
  const apiUrl = pick(ENV.slackApiUrl);
  return {
    ...(signingSecretArn ? { signingSecretArn } : {}),
    ...(botTokenArn ? { botTokenArn } : {}),
    ...(apiUrl ? { apiUrl } : {}),
  };
}

/**
 * An endpoint override for a service the broker calls without its SDK client, by the SDK's own convention
 * (`AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_ENDPOINT_URL_LAMBDA`, then `AWS_ENDPOINT_URL`); undefined in AWS.
 */
export function endpointOverride(
  serviceEnvSuffix: 'SECRETS_MANAGER' | 'LAMBDA' | 'S3' | 'SNS',
): string | undefined {
  return process.env[`AWS_ENDPOINT_URL_${serviceEnvSuffix}`] || process.env.AWS_ENDPOINT_URL || undefined;
}
