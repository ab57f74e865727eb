import middy from '@middy/core';
import { alertsPort, iamPort, lambdaDeps, stsPort, vaultPort } from '../runtime/lambda-deps.ts';
import { slackPorts } from '../runtime/lambda-slack.ts';
import { invocationLog } from '../runtime/middleware.ts';
import { createStepHandlers } from '../workflow-steps/handlers.ts';

/**
 * Lambda entry of the Grant step (DynamoDB, IAM put/get/GetRole, STS AssumeRole, KMS Encrypt; SNS Publish
 * and the Slack security channel for break-glass announcements).
 */
export const handler = middy(
  createStepHandlers(
    lambdaDeps({ iam: iamPort(), sts: stsPort(), vault: vaultPort(), ...alertsPort(), ...slackPorts() }),
  ).grant,
).use(invocationLog());
