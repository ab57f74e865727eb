import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoAuditStore } from '#adapters/dynamo-audit-store.ts';
import { SdkIamGrants } from '#adapters/iam-grants.ts';
import { SfnWorkflow } from '#adapters/sfn-workflow.ts';
import type { Approvals, Deps, IamGrants, Workflow } from '#core/ports.ts';
import { policyConfig, stateMachineArn, tableName } from './config.ts';

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

/** Approvals seam: Slack posting plugs in here; until then nobody is notified. */
const noApprovals: Approvals = { requestPending: async () => {} };

/** IAM inline-policy port on the SDK. */
export function iamPort(): IamGrants {
  return new SdkIamGrants(new IAMClient({}));
}

/** Step Functions port on the SDK (API function: it starts executions and answers callbacks). */
export function workflowPort(): Workflow {
  return new SfnWorkflow(new SFNClient({}), stateMachineArn());
}

/** Builds the deps of one Lambda from the ports it needs. */
export function productionDeps(ports: { iam?: IamGrants; workflow?: Workflow } = {}): Deps {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return {
    config: policyConfig(),
    store: new DynamoAuditStore(db, tableName()),
    iam: ports.iam ?? unwired<IamGrants>('iam'),
    workflow: ports.workflow ?? unwired<Workflow>('workflow'),
    approvals: noApprovals,
    clock: { now: () => new Date() },
    ids: { requestId: () => randomUUID() },
  };
}
