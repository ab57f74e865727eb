import middy from '@middy/core';
import { activityEventOfRecord } from '#adapters/cloudtrail-activity.ts';
import { recordFirstUse } from '#core/audit/first-use.ts';
import { lambdaDeps } from '../runtime/lambda-deps.ts';
import { slackPorts } from '../runtime/lambda-slack.ts';
import { log } from '../runtime/logger.ts';
import { invocationLog } from '../runtime/middleware.ts';

const deps = lambdaDeps({ ...slackPorts() });

/** An EventBridge event of CloudTrail ("AWS API Call via CloudTrail"): the record is its `detail`. */
interface CloudTrailApiCall {
  readonly 'detail-type'?: string;
  readonly detail?: unknown;
}

/**
 * Lambda entry of first use: the target accounts forward the CloudTrail records of `jit-*` sessions to the
 * hub's bus; the first one of a grant is recorded once (`FIRST_USED` note, the Slack card refreshed).
 * A record of an unknown or foreign session changes nothing.
 */
export const handler = middy(async (event: CloudTrailApiCall) => {
  const record = activityEventOfRecord(event.detail);
  if (!record) {
    log.info('first-use: not a CloudTrail record', { detailType: event['detail-type'] });
    return { outcome: 'ignored' };
  }
  const outcome = await recordFirstUse(deps, record);
  log.info('first-use', { outcome, eventId: record.eventId });
  return { outcome };
}).use(invocationLog());
