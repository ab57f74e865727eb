import middy from '@middy/core';
import { iamPort, productionDeps } from '../deps.ts';
import { createStepHandlers } from '../steps.ts';

/** Lambda entry of the Grant step (DynamoDB + IAM put/get). */
export const handler = middy(createStepHandlers(productionDeps({ iam: iamPort() })).grant);
