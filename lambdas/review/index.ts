import middy from '@middy/core';
import { withinInvokeLimit } from '#adapters/lambda-activity.ts';
import type { ActivityQuery } from '#core/audit/activity.ts';
import { runFollowUps } from '#core/requests/review.ts';
import { brokerName } from '../runtime/config.ts';
import { activityPort } from '../runtime/lambda-activity.ts';
import { alertsPort, lambdaDeps } from '../runtime/lambda-deps.ts';
import { log, reportGauge } from '../runtime/logger.ts';
import { invocationLog } from '../runtime/middleware.ts';

const activity = activityPort();
// No Slack here: the review's notes change no card, and the bundle stays lean.
const deps = lambdaDeps({ activity, ...alertsPort() });

/** What the review function is asked: the scheduled follow-ups, or one CloudTrail read for the API. */
type ReviewEvent =
  | { readonly action: 'find'; readonly query: ActivityQuery }
  | { readonly action?: 'followUps' };

/**
 * Lambda entry of the audit review. Every 5 minutes (EventBridge schedule): stores the review passes that
 * are due (revoke + 15 and + 60 minutes), records first uses the reviews find, notes overdue break-glass
 * reviews and reports how many are overdue (the alarm's metric). Synchronously for the API function
 * (`{action: 'find', query}`): reads CloudTrail for an on-demand review, since only this function may
 * assume the grantor roles and query Athena.
 */
export const handler = middy(async (event: ReviewEvent) => {
  if (event.action === 'find') return withinInvokeLimit(await activity.find(event.query));
  const run = await runFollowUps(deps);
  reportGauge('BreakGlassReviewsOverdue', run.overdue, brokerName());
  log.info('follow-ups', { outcomes: run.outcomes.length, overdue: run.overdue });
  const failed = run.outcomes.filter((o) => o.error !== undefined);
  if (failed.length > 0) throw new Error(`review could not follow up ${JSON.stringify(failed)}`);
  return run;
}).use(invocationLog());
