import middy from '@middy/core';
import { productionDeps, revocationsPort, vaultPort, workflowPort } from '../deps.ts';
import { slackPorts } from '../slack-deps.ts';
import { createApiHandler } from './handler.ts';

/**
 * Lambda entry of the REST API: Step Functions for start and callbacks, KMS Decrypt for credentials
 * collection, and an invoke of the revoke function for early revoke. No IAM or STS permission.
 */
export const handler = middy(
  createApiHandler(
    productionDeps({
      workflow: workflowPort(),
      revocations: revocationsPort(),
      vault: vaultPort(),
      ...slackPorts(),
    }),
  ),
);
