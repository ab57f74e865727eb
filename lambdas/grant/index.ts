import middy from '@middy/core';
import { iamPort, lambdaDeps, stsPort, vaultPort } from '../runtime/lambda-deps.ts';
import { slackPorts } from '../runtime/lambda-slack.ts';
import { invocationLog } from '../runtime/middleware.ts';
import { createStepHandlers } from '../workflow-steps/handlers.ts';

/** Lambda entry of the Grant step (DynamoDB, IAM put/get/GetRole, STS AssumeRole, KMS Encrypt). */
export const handler = middy(
  createStepHandlers(lambdaDeps({ iam: iamPort(), sts: stsPort(), vault: vaultPort(), ...slackPorts() }))
    .grant,
).use(invocationLog());
