import middy from '@middy/core';
import { iamPort, productionDeps } from '../deps.ts';
import { slackPorts } from '../slack-deps.ts';
import { createStepHandlers } from '../steps.ts';

/** Lambda entry of the Revoke, compensation and RevokeFailed steps (DynamoDB + IAM delete/get). */
export const handler = middy(createStepHandlers(productionDeps({ iam: iamPort(), ...slackPorts() })).revoke);
