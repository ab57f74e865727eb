import middy from '@middy/core';
import { iamPort, productionDeps, workflowPort } from '../deps.ts';
import { createApiHandler } from './handler.ts';

/** Lambda entry of the REST API (IAM for early revoke, Step Functions for start and callbacks). */
export const handler = middy(createApiHandler(productionDeps({ iam: iamPort(), workflow: workflowPort() })));
