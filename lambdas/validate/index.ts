import middy from '@middy/core';
import { productionDeps } from '../deps.ts';
import { createStepHandlers } from '../steps.ts';

/** Lambda entry of the Validate step (DynamoDB only). */
export const handler = middy(createStepHandlers(productionDeps()).validate);
