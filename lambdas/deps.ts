import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoAuditStore } from '#adapters/dynamo-audit-store.ts';
import { SdkIamGrants } from '#adapters/iam-grants.ts';
import { KmsVault } from '#adapters/kms-vault.ts';
import { LambdaRevocations } from '#adapters/lambda-revocations.ts';
import { SfnWorkflow } from '#adapters/sfn-workflow.ts';
import { SdkSts } from '#adapters/sts-sessions.ts';
import type {
  Approvals,
  AuditStore,
  CredentialVault,
  Deps,
  IamGrants,
  Revocations,
  Sts,
  Workflow,
} from '#core/ports.ts';
import { credentialsKeyId, policyConfig, revokeFunctionName, stateMachineArn, tableName } from './config.ts';

/**
 * Production wiring. An entry calls `iamPort()`/`workflowPort()` only if it uses them, so the bundler drops
 * the other SDK clients from its bundle. Clients are created once per cold start.
 */

/** A port this Lambda is not wired (nor permitted) to use: calling it is a wiring bug. */
function unwired<T extends object>(port: string): T {
  return new Proxy({} as T, {
    get: (_t, prop) => () =>
      Promise.reject(new Error(`port ${port}.${String(prop)} is not wired in this Lambda`)),
  });
}

/** Approvals when Slack is off for this function: nobody is notified (approvers use the API). */
const noApprovals: Approvals = { requestPending: async () => {} };

/** STS port on the SDK (grant function: AssumeRole for credentials grants). */
export function stsPort(): Sts {
  return new SdkSts(new STSClient({}));
}

/** KMS vault for credentials waiting for collection (grant: seal; API: open). */
export function vaultPort(): CredentialVault {
  return new KmsVault(new KMSClient({}), credentialsKeyId());
}

/** IAM inline-policy port on the SDK. */
export function iamPort(): IamGrants {
  return new SdkIamGrants(new IAMClient({}));
}

/** Step Functions port on the SDK (API function: it starts executions and answers callbacks). */
export function workflowPort(): Workflow {
  return new SfnWorkflow(new SFNClient({}), stateMachineArn());
}

/** Early revokes, handed to the revoke function (API function: it holds no IAM permission itself). */
export function revocationsPort(): Revocations {
  return new LambdaRevocations(new LambdaClient({}), revokeFunctionName());
}

let documentClientSingleton: DynamoDBDocumentClient | undefined;

/** The one DynamoDB document client of this Lambda (the store and the Slack card record share it). */
export function documentClient(): DynamoDBDocumentClient {
  documentClientSingleton ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClientSingleton;
}

/** Builds the deps of one Lambda from the ports it needs. */
export function productionDeps(
  ports: {
    iam?: IamGrants;
    workflow?: Workflow;
    revocations?: Revocations;
    sts?: Sts;
    vault?: CredentialVault;
    /** Slack: posts request cards (see slack-deps.ts). */
    approvals?: Approvals;
    /** Slack: refreshes request cards after each status change (see slack-deps.ts). */
    wrapStore?: (store: AuditStore) => AuditStore;
  } = {},
): Deps {
  const store = new DynamoAuditStore(documentClient(), tableName());
  return {
    config: policyConfig(),
    store: ports.wrapStore ? ports.wrapStore(store) : store,
    iam: ports.iam ?? unwired<IamGrants>('iam'),
    sts: ports.sts ?? unwired<Sts>('sts'),
    vault: ports.vault ?? unwired<CredentialVault>('vault'),
    workflow: ports.workflow ?? unwired<Workflow>('workflow'),
    revocations: ports.revocations ?? unwired<Revocations>('revocations'),
    approvals: ports.approvals ?? noApprovals,
    clock: { now: () => new Date() },
    ids: { requestId: () => randomUUID() },
  };
}
