import middy from '@middy/core';
import { lambdaDeps } from '../runtime/lambda-deps.ts';
import { slackPorts } from '../runtime/lambda-slack.ts';
import { invocationLog } from '../runtime/middleware.ts';
import { createStepHandlers } from '../workflow-steps/handlers.ts';

/** Lambda entry of the AwaitApproval (waitForTaskToken) and ApprovalExpired steps (DynamoDB; Slack card when configured). */
export const handler = middy(createStepHandlers(lambdaDeps(slackPorts())).awaitApproval).use(invocationLog());
