import middy from '@middy/core';
import { brokerName } from '../runtime/config.ts';
import { iamPort, lambdaDeps } from '../runtime/lambda-deps.ts';
import { slackPorts } from '../runtime/lambda-slack.ts';
import { countOutcome } from '../runtime/logger.ts';
import { invocationLog } from '../runtime/middleware.ts';
import { createStepHandlers } from '../workflow-steps/handlers.ts';

/**
 * Lambda entry of the Revoke, compensation, RevokeFailed and session-cleanup steps, and of early revokes
 * handed over by the API function (DynamoDB + IAM delete/get/put of session denies).
 */
export const handler = middy(
  createStepHandlers(lambdaDeps({ iam: iamPort(), ...slackPorts() }), (outcome) =>
    countOutcome(outcome, brokerName()),
  ).revoke,
).use(invocationLog());
