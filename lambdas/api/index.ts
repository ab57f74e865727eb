import middy from '@middy/core';
import { lambdaDeps, revocationsPort, vaultPort, workflowPort } from '../runtime/lambda-deps.ts';
import { slackPorts } from '../runtime/lambda-slack.ts';
import { invocationLog } from '../runtime/middleware.ts';
import { createApiHandler } from './handler.ts';

/**
 * Lambda entry of the REST API: Step Functions for start and callbacks, KMS Decrypt for credentials
 * collection, and an invoke of the revoke function for early revoke. No IAM or STS permission.
 */
export const handler = middy(
  createApiHandler(
    lambdaDeps({
      workflow: workflowPort(),
      revocations: revocationsPort(),
      vault: vaultPort(),
      ...slackPorts(),
    }),
  ),
).use(invocationLog());
