import middy from '@middy/core';
import { brokerName } from '../config.ts';
import { iamPort, productionDeps } from '../deps.ts';
import { countOutcome } from '../logger.ts';
import { slackPorts } from '../slack-deps.ts';
import { createStepHandlers } from '../steps.ts';

/**
 * Lambda entry of the Revoke, compensation, RevokeFailed and session-cleanup steps, and of early revokes
 * handed over by the API function (DynamoDB + IAM delete/get/put of session denies).
 */
export const handler = middy(
  createStepHandlers(productionDeps({ iam: iamPort(), ...slackPorts() }), (outcome) =>
    countOutcome(outcome, brokerName()),
  ).revoke,
);
