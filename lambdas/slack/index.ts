import middy from '@middy/core';
import { lambdaDeps, workflowPort } from '../runtime/lambda-deps.ts';
import { slackCallbackOptions } from '../runtime/lambda-slack.ts';
import { invocationLog } from '../runtime/middleware.ts';
import { createSlackHandler } from './handler.ts';

/**
 * Lambda entry of `POST /slack/interactions`: DynamoDB, Step Functions (SendTaskSuccess) and Secrets
 * Manager only. The request store is not card-syncing here: the handler refreshes the card itself, after
 * the task token is answered, within Slack's 3-second budget.
 */
export const handler = middy(
  createSlackHandler(slackCallbackOptions(lambdaDeps({ workflow: workflowPort() }))),
).use(invocationLog());
