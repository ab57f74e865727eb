import middy from '@middy/core';
import { runSweep } from '#core/workflow/sweeper.ts';
import { iamPort, lambdaDeps, workflowPort } from '../runtime/lambda-deps.ts';
import { log } from '../runtime/logger.ts';
import { invocationLog } from '../runtime/middleware.ts';

const deps = lambdaDeps({ iam: iamPort(), workflow: workflowPort() });

/**
 * Lambda entry of the scheduled sweeper (EventBridge, every few minutes): revokes grants still held well
 * after their expiry, closes in-flight requests whose execution is over (the reconciler), then removes
 * `jit-*` policies that allow something outside any live grant. A failure is logged and retried on the next
 * run; the function fails the invocation when anything failed (a grant, a policy, a whole target account
 * whose grantor could not be assumed), so the Errors metric (and its alarm) shows it.
 */
export const handler = middy(async () => {
  const report = await runSweep(deps);
  log.info('sweep', { ...report });
  const stuck = [...report.failed, ...report.strays.filter((s) => s.action === 'failed')];
  if (stuck.length > 0) {
    throw new Error(`sweeper could not remove ${stuck.length} grant(s)/policies: ${JSON.stringify(stuck)}`);
  }
  // Every other account was swept; an unreachable one still fails the invocation so its alarm fires.
  if (report.accountsFailed.length > 0) {
    throw new Error(`sweeper could not reach ${JSON.stringify(report.accountsFailed)}`);
  }
  return report;
}).use(invocationLog());
