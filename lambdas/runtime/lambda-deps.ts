import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AccountIamGrants, sdkAssumeGrantor } from '#adapters/account-iam-grants.ts';
import { DynamoAuditStore } from '#adapters/dynamo-audit-store.ts';
import { SdkIamGrants } from '#adapters/iam-grants.ts';
import { KmsVault } from '#adapters/kms-vault.ts';
import { LambdaActivity } from '#adapters/lambda-activity.ts';
import { LambdaRevocations } from '#adapters/lambda-revocations.ts';
import { SfnWorkflow } from '#adapters/sfn-workflow.ts';
import { SnsAlerts } from '#adapters/sns-alerts.ts';
import { SdkSts } from '#adapters/sts-sessions.ts';
import { grantorRoleArn, listedAccounts } from '#core/policy/accounts.ts';
import type {
  Activity,
  Alerts,
  CredentialVault,
  Deps,
  IamGrants,
  Revocations,
  Sts,
  Workflow,
} from '#core/ports.ts';
import { composeDeps, type DepsParts } from './compose.ts';
import {
  alertTopicArn,
  credentialsKeyId,
  endpointOverride,
  grantorSessionName,
  policyConfig,
  reviewFunctionName,
  revokeFunctionName,
  stateMachineArn,
  tableName,
} from './config.ts';

/**
 * The Lambda side of the composition root: SDK clients behind the ports. An entry calls `iamPort()`,
 * `workflowPort()`… only if it uses them, so the bundler drops the other SDK clients from its bundle.
 * Clients are created once per cold start (entries call these at module scope).
 */

/** STS port on the SDK (grant function: AssumeRole for credentials grants). */
export function stsPort(): Sts {
  return new SdkSts(new STSClient({}));
}

/** KMS vault for credentials waiting for collection (grant: seal; API: open). */
export function vaultPort(): CredentialVault {
  return new KmsVault(new KMSClient({}), credentialsKeyId());
}

/**
 * IAM inline-policy port on the SDK (grant, revoke, sweeper). Without an `accounts` list: this account's
 * IAM, directly. With one: every call goes to the principal's account through its grantor role (AssumeRole
 * with the config's ExternalId, cached until shortly before expiry).
 */
export function iamPort(): IamGrants {
  const config = policyConfig();
  if (!config.accounts) return new SdkIamGrants(new IAMClient({}));
  return new AccountIamGrants({
    grantorRoleArn: (account) =>
      listedAccounts(config).some((a) => a.id === account) ? grantorRoleArn(config, account) : undefined,
    externalId: config.externalId ?? '',
    sessionName: grantorSessionName(),
    assume: sdkAssumeGrantor(new STSClient({})),
  });
}

/** Step Functions port on the SDK (API function: it starts executions and answers callbacks). */
export function workflowPort(): Workflow {
  return new SfnWorkflow(new SFNClient({}), stateMachineArn());
}

/** Early revokes, handed to the revoke function (API function: it holds no IAM permission itself). */
export function revocationsPort(): Revocations {
  // Signed with the same credentials and region as the function's DynamoDB client (no Lambda client).
  const { config } = documentClient();
  const endpoint = endpointOverride('LAMBDA');
  return new LambdaRevocations({
    functionName: revokeFunctionName(),
    region: config.region,
    credentials: config.credentials,
    ...(endpoint ? { endpoint } : {}),
  });
}

/** CloudTrail reads of the API's on-demand reviews, handed to the review function (API function). */
export function reviewActivityPort(): Activity {
  const { config } = documentClient();
  const endpoint = endpointOverride('LAMBDA');
  return new LambdaActivity({
    functionName: reviewFunctionName(),
    region: config.region,
    credentials: config.credentials,
    ...(endpoint ? { endpoint } : {}),
  });
}

/** Break-glass alerts on the SNS topic, where the CDK gave the function one (grant, review). */
export function alertsPort(): { alerts?: Alerts } {
  const topicArn = alertTopicArn();
  if (!topicArn) return {};
  const { config } = documentClient();
  const endpoint = endpointOverride('SNS');
  return {
    alerts: new SnsAlerts({
      topicArn,
      region: config.region,
      credentials: config.credentials,
      ...(endpoint ? { endpoint } : {}),
    }),
  };
}

let documentClientSingleton: DynamoDBDocumentClient | undefined;

/** The one DynamoDB document client of this Lambda (the store and the Slack card record share it). */
export function documentClient(): DynamoDBDocumentClient {
  documentClientSingleton ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClientSingleton;
}

/**
 * The deps of one Lambda: the policy config in its bundle and the audit table from its environment, plus
 * the ports it is granted (see {@link composeDeps} for the defaults of the others).
 */
export function lambdaDeps(ports: Omit<DepsParts, 'config' | 'store'> = {}): Deps {
  return composeDeps({
    config: policyConfig(),
    store: new DynamoAuditStore(documentClient(), tableName()),
    ...ports,
  });
}
