import middy from '@middy/core';
import { iamPort, productionDeps, vaultPort, workflowPort } from '../deps.ts';
import { slackPorts } from '../slack-deps.ts';
import { createApiHandler } from './handler.ts';

/**
 * Lambda entry of the REST API (IAM for early revoke, Step Functions for start and callbacks, KMS Decrypt
 * for credentials collection).
 */
export const handler = middy(
  createApiHandler(
    productionDeps({ iam: iamPort(), workflow: workflowPort(), vault: vaultPort(), ...slackPorts() }),
  ),
);
