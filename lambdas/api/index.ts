import middy from '@middy/core';
import { evidenceReaderPort } from '../runtime/evidence-reader.ts';
import {
  lambdaDeps,
  reviewActivityPort,
  revocationsPort,
  vaultPort,
  workflowPort,
} from '../runtime/lambda-deps.ts';
import { slackPorts } from '../runtime/lambda-slack.ts';
import { invocationLog } from '../runtime/middleware.ts';
import { createApiHandler } from './handler.ts';

/**
 * Lambda entry of the REST API: Step Functions for start and callbacks, KMS Decrypt for credentials
 * collection, an invoke of the revoke function for early revoke and of the review function for CloudTrail
 * reads (on-demand reviews), reads of the evidence archive (verify). No IAM or STS permission.
 */
export const handler = middy(
  createApiHandler(
    lambdaDeps({
      workflow: workflowPort(),
      revocations: revocationsPort(),
      vault: vaultPort(),
      evidence: evidenceReaderPort(),
      activity: reviewActivityPort(),
      ...slackPorts(),
    }),
  ),
).use(invocationLog());
