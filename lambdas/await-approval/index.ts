import middy from '@middy/core';
import { productionDeps } from '../deps.ts';
import { slackPorts } from '../slack-deps.ts';
import { createStepHandlers } from '../steps.ts';

/** Lambda entry of the AwaitApproval (waitForTaskToken) and ApprovalExpired steps (DynamoDB; Slack card when configured). */
export const handler = middy(createStepHandlers(productionDeps(slackPorts())).awaitApproval);
