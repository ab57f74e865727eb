import { activityEventOf } from '#adapters/cloudtrail-activity.ts';
import { type FirstUseOutcome, recordFirstUse, sessionRequestId } from '#core/audit/first-use.ts';
import type { Deps } from '#core/ports.ts';
import {
  type CloudTrailRecord,
  CloudTrailRecordError,
  type LocalCloudTrail,
  lookupEventOf,
} from './fakes/cloudtrail.ts';
import { type LocalAnswer, type LocalPostRoute, localError } from './http-server.ts';

/** Records one `POST /_local/cloudtrail` may inject. */
export const MAX_INJECTED_RECORDS = 1000;

/** 1,000 records of a few KiB each: well above the API's 256 KiB. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

const invalid = (field: string, message: string): LocalAnswer => ({
  status: 400,
  body: localError('InvalidRequest', `${field}: ${message}`, [{ field, message }]),
});

/**
 * What the EventBridge forwarder does in AWS: a record of a broker-minted session (`assumed-role/…/jit-<id>`)
 * goes to the first-use function. Oldest first, so the first use noted is the earliest record of the batch.
 * A failure is logged and the next record still goes (as one failed event does not stop the bus).
 */
async function forwardFirstUses(
  deps: Pick<Deps, 'store' | 'clock'>,
  records: readonly CloudTrailRecord[],
  log: (line: string) => void,
): Promise<void> {
  const events = records
    .flatMap((record) => {
      const event = activityEventOf(lookupEventOf(record));
      return event && sessionRequestId(event) !== undefined ? [event] : [];
    })
    .sort((a, b) => a.eventTime.localeCompare(b.eventTime));
  for (const event of events) {
    let outcome: FirstUseOutcome;
    try {
      outcome = await recordFirstUse(deps, event);
    } catch (error) {
      log(`cloudtrail: first use of ${event.userIdentity.arn} not recorded: ${(error as Error).message}`);
      continue;
    }
    if (outcome === 'recorded')
      log(`${sessionRequestId(event)}  first used: ${event.eventSource} ${event.eventName}`);
  }
}

/**
 * `POST /_local/cloudtrail` with `{"events":[<CloudTrail record>, …]}` (at most 1,000): stores the records in
 * the fake event history (a bad record is a 400 naming its field, and nothing is stored), forwards the
 * broker's session records to first use, and answers `{"injected":n}` (records whose eventID was already
 * stored are not counted).
 */
export function cloudTrailInjectRoute(
  trail: LocalCloudTrail,
  deps: Pick<Deps, 'store' | 'clock'>,
  log: (line: string) => void,
): LocalPostRoute {
  return {
    maxBytes: MAX_BODY_BYTES,
    async handle(body) {
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        return invalid('body', 'must be an object {"events":[…]}');
      const extra = Object.keys(body).find((key) => key !== 'events');
      if (extra !== undefined) return invalid(extra, 'is not a known field');
      const events = (body as { events?: unknown }).events;
      if (!Array.isArray(events)) return invalid('events', 'must be an array of CloudTrail records');
      if (events.length > MAX_INJECTED_RECORDS)
        return invalid('events', `must hold at most ${MAX_INJECTED_RECORDS} records (got ${events.length})`);
      let added: CloudTrailRecord[];
      try {
        added = trail.inject(events);
      } catch (error) {
        if (error instanceof CloudTrailRecordError)
          return invalid(error.field, error.message.slice(error.field.length + 2));
        throw error;
      }
      await forwardFirstUses(deps, added, log);
      return { status: 200, body: { injected: added.length } };
    },
  };
}

/** `GET /_local/cloudtrail[?account=<id>]`: the stored records, newest first (every account, or one). */
export function cloudTrailListing(trail: LocalCloudTrail): (query: URLSearchParams) => unknown {
  return (query) => ({ events: trail.records(query.get('account') ?? undefined) });
}
