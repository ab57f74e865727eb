import middy from '@middy/core';
import { iamPort, productionDeps, stsPort, vaultPort } from '../deps.ts';
import { slackPorts } from '../slack-deps.ts';
import { createStepHandlers } from '../steps.ts';

/** Lambda entry of the Grant step (DynamoDB, IAM put/get/GetRole, STS AssumeRole, KMS Encrypt). */
export const handler = middy(
  createStepHandlers(productionDeps({ iam: iamPort(), sts: stsPort(), vault: vaultPort(), ...slackPorts() }))
    .grant,
);
