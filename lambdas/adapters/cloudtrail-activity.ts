/**
 * Activity from CloudTrail's event history (LookupEvents) in the grant's target account: management events
 * of the last 90 days, region by region, read through that account's grantor role. LookupEvents allows 2
 * calls per second per account and region, and a review may need hundreds of pages: every call goes
 * through a {@link Pacer}, and a throttled page is retried (same NextToken) with exponential backoff. A
 * region that still fails is reported in its SourceReport with what it read so far; the other regions
 * still answer.
 */

import {
  type CloudTrailClient,
  type LookupAttribute,
  type Event as LookupEvent,
  LookupEventsCommand,
  type LookupEventsCommandInput,
  type LookupEventsCommandOutput,
} from '@aws-sdk/client-cloudtrail';
import type { ActivityEvent, ActivityQuery, ActivityResult, SourceReport } from '#core/audit/activity.ts';
import type { Activity } from '#core/ports.ts';
import { concreteTargetType, splitArn } from '#core/principals.ts';
import { Pacer, realSleep } from './pacer.ts';

/** One LookupEvents call in one account and region (through that account's grantor role in AWS). */
export type LookupEventsFn = (
  account: string,
  region: string,
  input: LookupEventsCommandInput,
) => Promise<LookupEventsCommandOutput>;

/** How {@link CloudTrailActivity} reads CloudTrail. */
export interface CloudTrailActivityOptions {
  readonly lookup: LookupEventsFn;
  /** The regions to read in every target account (LookupEvents answers for one region at a time). */
  readonly regions: readonly string[];
  /**
   * Share one pacer between every CloudTrailActivity of the process: the quota is the account's, whoever
   * calls. @default a pacer of its own, 2 calls per second per account and region
   */
  readonly pacer?: Pacer;
  /** Retries of one throttled page before its region reports an error. @default 8 */
  readonly maxRetries?: number;
  /** Waits between throttled retries. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter of the backoff. @default Math.random */
  readonly random?: () => number;
  /** Epoch milliseconds, for the query's `readBy`. @default Date.now */
  readonly now?: () => number;
}

/** LookupEvents' largest page. */
const PAGE_SIZE = 50;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 8000;

/** True when LookupEvents refused the call for its rate (the retry of the same page may succeed). */
function isThrottling(error: unknown): boolean {
  const e = error as {
    name?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: { throttling?: boolean };
  };
  return (
    e?.name === 'ThrottlingException' ||
    e?.$metadata?.httpStatusCode === 429 ||
    e?.$retryable?.throttling === true
  );
}

/** The wait before retry number `attempt` (1-based): doubling from 500 ms, capped at 8 s, half of it jittered. */
function backoffMs(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return ceiling / 2 + (ceiling / 2) * random();
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

/** A CloudTrail record (an EventBridge event's `detail`, an injected local record) as the review reads it. */
export function activityEventOfRecord(record: unknown): ActivityEvent | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  return activityEventOf({ CloudTrailEvent: JSON.stringify(record) });
}

/**
 * One LookupEvents result as the review reads it, from the CloudTrail record it carries (`CloudTrailEvent`,
 * JSON text), the result's own fields filling what the record lacks. Undefined when the record cannot be
 * read or names no event: the caller skips it and counts it.
 */
export function activityEventOf(event: LookupEvent): ActivityEvent | undefined {
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(event.CloudTrailEvent ?? '');
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    record = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const eventId = str(record.eventID) ?? event.EventId;
  const eventTime = str(record.eventTime) ?? event.EventTime?.toISOString();
  const eventSource = str(record.eventSource) ?? event.EventSource;
  const eventName = str(record.eventName) ?? event.EventName;
  if (!eventId || !eventTime || !eventSource || !eventName) return undefined;
  const identity = obj(record.userIdentity);
  const readOnly =
    typeof record.readOnly === 'boolean'
      ? record.readOnly
      : event.ReadOnly === undefined
        ? undefined
        : event.ReadOnly === 'true';
  const recordResources = Array.isArray(record.resources)
    ? record.resources.map((r) => str(obj(r).ARN)).filter((a): a is string => a !== undefined)
    : [];
  // LookupEvents names resources by ARN or by bare name (a bucket, an instance id); only ARNs are kept.
  const lookupResources = (event.Resources ?? [])
    .map((r) => r.ResourceName)
    .filter((name): name is string => name !== undefined && splitArn(name) !== undefined);
  return {
    eventId,
    eventTime,
    eventSource,
    eventName,
    awsRegion: str(record.awsRegion) ?? '',
    recipientAccountId: str(record.recipientAccountId) ?? '',
    eventCategory: record.eventCategory === 'Data' ? 'Data' : 'Management',
    ...(readOnly === undefined ? {} : { readOnly }),
    userIdentity: {
      type: str(identity.type),
      arn: str(identity.arn),
      principalId: str(identity.principalId),
      accessKeyId: str(identity.accessKeyId) ?? event.AccessKeyId,
      sourceIdentity: str(obj(identity.sessionContext).sourceIdentity),
    },
    sourceIPAddress: str(record.sourceIPAddress),
    userAgent: str(record.userAgent),
    errorCode: str(record.errorCode),
    errorMessage: str(record.errorMessage),
    resources: recordResources.length > 0 ? recordResources : lookupResources,
  };
}

/**
 * Which callers may be the target principal, to keep an inline grant's volume down (the review does the
 * real matching): a role's sessions (`sts::<acct>:assumed-role/<name>/<session>`, the role's path is not in
 * them), or the user itself. A target of another shape keeps every record.
 */
function principalFilter(principalArn: string): (callerArn: string | undefined) => boolean {
  const target = splitArn(principalArn);
  const type = concreteTargetType(principalArn);
  if (!target || !type) return () => true;
  // IAM names are unique whatever their case; the path is not part of a session's ARN.
  const name = principalArn.slice(principalArn.lastIndexOf('/') + 1).toLowerCase();
  return (callerArn) => {
    const caller = callerArn === undefined ? undefined : splitArn(callerArn);
    if (!caller || caller.partition !== target.partition || caller.account !== target.account) return false;
    const segments = caller.resource.split('/');
    if (type === 'role') {
      return (
        caller.service === 'sts' &&
        segments.length >= 3 &&
        segments[0] === 'assumed-role' &&
        segments[1]?.toLowerCase() === name
      );
    }
    return caller.service === 'iam' && segments[0] === 'user' && segments.at(-1)?.toLowerCase() === name;
  };
}

/** What one region gave: its records (pre-filtered) and its report. */
interface RegionResult {
  readonly events: ActivityEvent[];
  readonly report: SourceReport;
}

/**
 * The Activity port on LookupEvents: a credentials grant is found by its session's access key, an inline
 * grant by the event sources of its services, kept to the target principal's calls. One SourceReport per
 * region; `events` there counts every record LookupEvents returned, before any matching.
 */
export class CloudTrailActivity implements Activity {
  readonly #lookup: LookupEventsFn;
  readonly #regions: readonly string[];
  readonly #pacer: Pacer;
  readonly #maxRetries: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #now: () => number;

  constructor(opts: CloudTrailActivityOptions) {
    this.#lookup = opts.lookup;
    this.#regions = opts.regions;
    this.#pacer = opts.pacer ?? new Pacer();
    this.#maxRetries = opts.maxRetries ?? 8;
    this.#sleep = opts.sleep ?? realSleep;
    this.#random = opts.random ?? Math.random;
    this.#now = opts.now ?? Date.now;
  }

  async find(query: ActivityQuery): Promise<ActivityResult> {
    const results = await Promise.all(this.#regions.map((region) => this.#region(query, region)));
    return {
      events: results.flatMap((r) => r.events).sort((a, b) => a.eventTime.localeCompare(b.eventTime)),
      sources: results.map((r) => r.report),
    };
  }

  /** Every page of every lookup of the query in one region; stops at the first lookup that fails. */
  async #region(query: ActivityQuery, region: string): Promise<RegionResult> {
    const attributes: LookupAttribute[] = query.accessKeyId
      ? [{ AttributeKey: 'AccessKeyId', AttributeValue: query.accessKeyId }]
      : query.eventSources.map((source) => ({ AttributeKey: 'EventSource', AttributeValue: source }));
    // The access key already names the session: only inline grants need the principal filter.
    const keep = query.accessKeyId ? () => true : principalFilter(query.principalArn);
    const events: ActivityEvent[] = [];
    const tally = { calls: 0, records: 0, unparseable: 0 };
    let error: string | undefined;
    for (const attribute of attributes) {
      let nextToken: string | undefined;
      let page = 1;
      do {
        const input: LookupEventsCommandInput = {
          LookupAttributes: [attribute],
          StartTime: new Date(query.start),
          EndTime: new Date(query.end),
          MaxResults: PAGE_SIZE,
          ...(nextToken === undefined ? {} : { NextToken: nextToken }),
        };
        if (query.readBy !== undefined && this.#now() >= Date.parse(query.readBy)) {
          error = `stopped at the read budget (${query.readBy}) after ${tally.calls} call(s); the stored review reads everything`;
          break;
        }
        const out = await this.#page(query.account, region, input, tally);
        if ('error' in out) {
          error = `LookupEvents ${attribute.AttributeKey}=${attribute.AttributeValue} page ${page}: ${out.error}`;
          break;
        }
        for (const raw of out.output.Events ?? []) {
          tally.records += 1;
          const event = activityEventOf(raw);
          if (!event) tally.unparseable += 1;
          else if (keep(event.userIdentity.arn)) events.push(event);
        }
        nextToken = out.output.NextToken || undefined;
        page += 1;
      } while (nextToken !== undefined);
      if (error) break;
    }
    // A record that could not be read might be the grant's use: the review must not call itself complete.
    const problems = [
      ...(error ? [error] : []),
      ...(tally.unparseable > 0
        ? [`${tally.unparseable} record(s) could not be parsed and were skipped`]
        : []),
    ];
    return {
      events,
      report: {
        name: `cloudtrail:${query.account}:${region}`,
        eventClasses: ['management'],
        calls: tally.calls,
        events: tally.records,
        ...(problems.length > 0 ? { error: problems.join('; ') } : {}),
      },
    };
  }

  /** One page: paced, retried while throttled (the same input, so the same NextToken). */
  async #page(
    account: string,
    region: string,
    input: LookupEventsCommandInput,
    tally: { calls: number },
  ): Promise<{ output: LookupEventsCommandOutput } | { error: string }> {
    for (let retry = 0; ; retry += 1) {
      await this.#pacer.acquire(`${account}:${region}`);
      tally.calls += 1;
      try {
        return { output: await this.#lookup(account, region, input) };
      } catch (caught) {
        const e = caught as { name?: string; message?: string };
        if (!isThrottling(caught)) return { error: `${e?.name ?? 'Error'}: ${e?.message ?? String(caught)}` };
        if (retry >= this.#maxRetries) {
          return { error: `still throttled after ${this.#maxRetries} retries (${e?.name ?? 'Error'})` };
        }
        await this.#sleep(backoffMs(retry + 1, this.#random));
      }
    }
  }
}

/**
 * LookupEvents on the SDK, with a client per account and region (built on the grantor's credentials by the
 * wiring). Give those clients `maxAttempts: 1`: the SDK's own retries would bypass the pacer.
 */
export function sdkLookup(
  clientFor: (account: string, region: string) => Promise<CloudTrailClient>,
): LookupEventsFn {
  return async (account, region, input) =>
    (await clientFor(account, region)).send(new LookupEventsCommand(input));
}
