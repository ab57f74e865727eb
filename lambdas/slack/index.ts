import middy from '@middy/core';
import { productionDeps, workflowPort } from '../deps.ts';
import { slackCallbackOptions } from '../slack-deps.ts';
import { createSlackHandler } from './handler.ts';

/**
 * Lambda entry of `POST /slack/interactions`: DynamoDB, Step Functions (SendTaskSuccess) and Secrets
 * Manager only. The request store is not card-syncing here: the handler refreshes the card itself, after
 * the task token is answered, within Slack's 3-second budget.
 */
export const handler = middy(
  createSlackHandler(slackCallbackOptions(productionDeps({ workflow: workflowPort() }))),
);
