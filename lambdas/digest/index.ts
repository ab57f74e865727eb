import middy from '@middy/core';
import { addDays, buildDigests, dayOf } from '#core/audit/digest.ts';
import { evidenceArchivePort } from '../runtime/evidence-deps.ts';
import { log } from '../runtime/logger.ts';
import { invocationLog } from '../runtime/middleware.ts';

const archive = evidenceArchivePort();

/**
 * Lambda entry of the digest function (EventBridge, daily at 00:30 UTC): writes the daily digest of every
 * day that is over and has none yet (`digests/<day>.json`, write-once, chained from the day before).
 * Idempotent: a digest that exists is left, and compared with the heads archived now.
 */
export const handler = middy(async () => {
  const outcomes = await buildDigests(archive, addDays(dayOf(new Date()), -1));
  for (const o of outcomes.filter((each) => !each.agrees)) {
    log.info('digest differs from the heads archived now (an event archived after the day was digested?)', {
      day: o.day,
    });
  }
  return { outcomes };
}).use(invocationLog());
