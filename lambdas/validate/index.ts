import middy from '@middy/core';
import { lambdaDeps } from '../runtime/lambda-deps.ts';
import { invocationLog } from '../runtime/middleware.ts';
import { createStepHandlers } from '../workflow-steps/handlers.ts';

/** Lambda entry of the Validate step (DynamoDB only). */
export const handler = middy(createStepHandlers(lambdaDeps()).validate).use(invocationLog());
