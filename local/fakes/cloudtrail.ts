import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import {
  type Event,
  InvalidEventCategoryException,
  InvalidLookupAttributesException,
  InvalidMaxResultsException,
  InvalidNextTokenException,
  InvalidTimeRangeException,
  type LookupEventsCommandInput,
  type LookupEventsCommandOutput,
  ThrottlingException,
} from '@aws-sdk/client-cloudtrail';

/**
 * One CloudTrail record, as CloudTrail writes it to a trail and returns it in LookupEvents'
 * `CloudTrailEvent` (JSON text). Only the fields the fake checks are typed strictly; the rest pass through.
 */
export interface CloudTrailRecord {
  readonly eventVersion?: string;
  readonly userIdentity?: {
    readonly type?: string;
    readonly principalId?: string;
    readonly arn?: string;
    readonly accountId?: string;
    readonly accessKeyId?: string;
    readonly userName?: string;
    readonly sessionContext?: {
      readonly sourceIdentity?: string;
      readonly sessionIssuer?: Readonly<Record<string, unknown>>;
      readonly attributes?: Readonly<Record<string, unknown>>;
    };
    readonly invokedBy?: string;
  };
  /** ISO 8601 in UTC, to the second as CloudTrail writes it (`2025-01-01T12:00:00Z`). */
  readonly eventTime: string;
  readonly eventSource: string;
  readonly eventName: string;
  readonly awsRegion: string;
  readonly sourceIPAddress?: string;
  readonly userAgent?: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly requestParameters?: unknown;
  readonly responseElements?: unknown;
  readonly eventID: string;
  readonly readOnly?: boolean;
  readonly eventType?: string;
  readonly managementEvent?: boolean;
  readonly recipientAccountId: string;
  /** `Management` (the only category LookupEvents returns; absent counts as it) or `Data`. */
  readonly eventCategory?: string;
  readonly resources?: readonly {
    readonly ARN?: string;
    readonly accountId?: string;
    readonly type?: string;
  }[];
}

/** A record refused by {@link LocalCloudTrail.inject}: `field` names the culprit (`events[2].eventTime`). */
export class CloudTrailRecordError extends Error {
  override readonly name = 'CloudTrailRecordError';
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** Options of {@link LocalCloudTrail}. */
export interface LocalCloudTrailOptions {
  /** The clock the 90-day retention and the rate limit read. @default () => new Date() */
  readonly now?: () => Date;
}

/** LookupEvents' attribute keys (LookupAttributeKey). */
const ATTRIBUTE_KEYS = new Set([
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
]);
/** Event history keeps 90 days of management events. */
const RETENTION_MS = 90 * 86_400_000;
/** LookupEvents' quota: 2 calls per second per account and region. */
const RATE_LIMIT = 2;
const RATE_WINDOW_MS = 1000;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** A stored record with its time parsed once and its LookupEvents `Event` built once. */
interface Stored {
  readonly record: CloudTrailRecord;
  readonly time: number;
  readonly event: Event;
}

/** Where the next page starts: the last returned record, in the newest-first order, and the query's print. */
interface Cursor {
  readonly q: string;
  readonly t: number;
  readonly id: string;
}

/** An SDK error as the client throws it (name, `$fault`, `$metadata.httpStatusCode` 400). */
function clientError<E extends Error>(
  Kind: new (opts: { message: string; $metadata: { httpStatusCode: number; requestId: string } }) => E,
  message: string,
): E {
  return new Kind({ message, $metadata: { httpStatusCode: 400, requestId: randomUUID() } });
}

/**
 * The LookupEvents `Username`: the session name for a role session, the user name for an IAM user, `root`
 * for the root user; absent for AWS services.
 */
function usernameOf(record: CloudTrailRecord): string | undefined {
  const id = record.userIdentity;
  if (!id) return undefined;
  if (id.type === 'Root') return 'root';
  if (id.type === 'IAMUser') return id.userName ?? id.arn?.split('/').pop();
  if (id.type === 'AssumedRole' || id.type === 'FederatedUser') return id.arn?.split('/').pop();
  return id.userName;
}

/** The record as LookupEvents returns it (an `Events[]` item). */
export function lookupEventOf(record: CloudTrailRecord): Event {
  const username = usernameOf(record);
  const accessKeyId = record.userIdentity?.accessKeyId;
  return {
    EventId: record.eventID,
    EventName: record.eventName,
    ReadOnly: String(record.readOnly ?? false),
    ...(accessKeyId ? { AccessKeyId: accessKeyId } : {}),
    EventTime: new Date(record.eventTime),
    EventSource: record.eventSource,
    ...(username ? { Username: username } : {}),
    Resources: (record.resources ?? []).map((r) => ({
      ...(r.type ? { ResourceType: r.type } : {}),
      ...(r.ARN ? { ResourceName: r.ARN } : {}),
    })),
    CloudTrailEvent: JSON.stringify(record),
  };
}

/** Whether the record answers the one lookup attribute (CloudTrail matches values exactly). */
function matches(event: Event, key: string, value: string): boolean {
  switch (key) {
    case 'EventId':
      return event.EventId === value;
    case 'EventName':
      return event.EventName === value;
    case 'ReadOnly':
      return event.ReadOnly === value;
    case 'Username':
      return event.Username === value;
    case 'EventSource':
      return event.EventSource === value;
    case 'AccessKeyId':
      return event.AccessKeyId === value;
    case 'ResourceType':
      return (event.Resources ?? []).some((r) => r.ResourceType === value);
    case 'ResourceName':
      return (event.Resources ?? []).some((r) => r.ResourceName === value);
    default:
      return false;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function requireString(record: Record<string, unknown>, key: string, at: string): string {
  const value = record[key];
  if (typeof value !== 'string' || value.trim() === '')
    throw new CloudTrailRecordError(`${at}.${key}`, 'must be a non-empty string');
  return value;
}

function optionalType(
  record: Record<string, unknown>,
  key: string,
  type: 'string' | 'boolean',
  at: string,
): void {
  if (record[key] !== undefined && typeof record[key] !== type)
    throw new CloudTrailRecordError(`${at}.${key}`, `must be a ${type} when present`);
}

/**
 * Checks one record as CloudTrail would have written it and returns it typed. `at` prefixes the field
 * named in the error (`events[3]`).
 */
export function validateRecord(value: unknown, at = 'record'): CloudTrailRecord {
  if (!isObject(value)) throw new CloudTrailRecordError(at, 'must be a CloudTrail record (a JSON object)');
  const eventTime = requireString(value, 'eventTime', at);
  if (!ISO_UTC.test(eventTime) || Number.isNaN(Date.parse(eventTime)))
    throw new CloudTrailRecordError(`${at}.eventTime`, 'must be ISO 8601 in UTC, like 2025-01-01T12:00:00Z');
  requireString(value, 'eventID', at);
  const source = requireString(value, 'eventSource', at);
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(source))
    throw new CloudTrailRecordError(
      `${at}.eventSource`,
      'must be a service host name, like s3.amazonaws.com',
    );
  requireString(value, 'eventName', at);
  if (typeof value.recipientAccountId !== 'string' || !ACCOUNT_ID.test(value.recipientAccountId))
    throw new CloudTrailRecordError(`${at}.recipientAccountId`, 'must be a 12-digit account id');
  if (typeof value.awsRegion !== 'string' || !REGION.test(value.awsRegion))
    throw new CloudTrailRecordError(`${at}.awsRegion`, 'must be an AWS region name, like us-east-1');
  for (const key of [
    'eventVersion',
    'sourceIPAddress',
    'userAgent',
    'errorCode',
    'errorMessage',
    'eventType',
  ])
    optionalType(value, key, 'string', at);
  for (const key of ['readOnly', 'managementEvent']) optionalType(value, key, 'boolean', at);
  if (
    value.eventCategory !== undefined &&
    value.eventCategory !== 'Management' &&
    value.eventCategory !== 'Data'
  )
    throw new CloudTrailRecordError(`${at}.eventCategory`, 'must be Management or Data when present');
  const identity = value.userIdentity;
  if (identity !== undefined) {
    if (!isObject(identity))
      throw new CloudTrailRecordError(`${at}.userIdentity`, 'must be an object when present');
    for (const key of ['type', 'principalId', 'arn', 'accountId', 'accessKeyId', 'userName'])
      optionalType(identity, key, 'string', `${at}.userIdentity`);
    if (identity.sessionContext !== undefined && !isObject(identity.sessionContext))
      throw new CloudTrailRecordError(`${at}.userIdentity.sessionContext`, 'must be an object when present');
  }
  if (value.resources !== undefined) {
    if (!Array.isArray(value.resources))
      throw new CloudTrailRecordError(`${at}.resources`, 'must be an array when present');
    value.resources.forEach((r: unknown, i: number) => {
      if (!isObject(r)) throw new CloudTrailRecordError(`${at}.resources[${i}]`, 'must be an object');
      for (const key of ['ARN', 'accountId', 'type']) optionalType(r, key, 'string', `${at}.resources[${i}]`);
    });
  }
  return value as unknown as CloudTrailRecord;
}

/**
 * CloudTrail event history on this machine, per account and region: records are injected (what AWS would
 * have logged), and `lookup` answers LookupEvents with the service's rules, so the CloudTrail adapter runs
 * unchanged against it:
 *
 * - at most one LookupAttribute, of the eight keys (InvalidLookupAttributesException);
 * - MaxResults 1-50, default 50 (InvalidMaxResultsException);
 * - StartTime and EndTime both inclusive, as the API documents them ("after or at", "before or at");
 *   StartTime after EndTime is InvalidTimeRangeException;
 * - newest first; NextToken opaque and valid only for the query (account, region, attribute, times,
 *   category) that issued it (InvalidNextTokenException);
 * - management events only (`eventCategory` Management or absent): data events are invisible, as they are
 *   to LookupEvents; `EventCategory: 'insight'` returns nothing (no Insights here);
 * - 90 days of history: older records are not returned;
 * - 2 calls per second per account and region: the third within a second is ThrottlingException (a
 *   throttled call does not use up the quota, so a paced retry gets through).
 *
 * Errors are the SDK's own exception classes, with `name` and `$metadata.httpStatusCode` 400, as the
 * client throws them.
 */
export class LocalCloudTrail {
  readonly #now: () => Date;
  /** `<account>:<region>` → records, newest first. */
  readonly #stores = new Map<string, Stored[]>();
  readonly #ids = new Map<string, Set<string>>();
  /** `<account>:<region>` → times (ms) of the calls served within the last rate window. */
  readonly #served = new Map<string, number[]>();
  readonly #calls = new Map<string, number>();
  readonly #throttled = new Map<string, number>();
  /** Signs NextTokens, so a token is only good for this fake and the query that issued it. */
  readonly #tokenKey = randomBytes(32);

  constructor(opts: LocalCloudTrailOptions = {}) {
    this.#now = opts.now ?? (() => new Date());
  }

  /**
   * Validates every record first (a CloudTrailRecordError names the field at fault and nothing is stored),
   * then stores them under their `recipientAccountId` and `awsRegion`. A record whose eventID is already
   * stored there is ignored. Returns the records newly stored.
   */
  inject(records: readonly unknown[]): CloudTrailRecord[] {
    const valid = records.map((r, i) => validateRecord(r, `events[${i}]`));
    const added: CloudTrailRecord[] = [];
    for (const record of valid) {
      const key = `${record.recipientAccountId}:${record.awsRegion}`;
      const ids = this.#ids.get(key) ?? new Set<string>();
      if (ids.has(record.eventID)) continue;
      ids.add(record.eventID);
      this.#ids.set(key, ids);
      const list = this.#stores.get(key) ?? [];
      list.push({ record, time: Date.parse(record.eventTime), event: lookupEventOf(record) });
      this.#stores.set(key, list);
      added.push(record);
    }
    for (const list of this.#stores.values()) list.sort(newestFirst);
    return added;
  }

  /** The stored records, newest first: all of them, or one account's (every region). For `/_local/cloudtrail`. */
  records(account?: string): CloudTrailRecord[] {
    return [...this.#stores.entries()]
      .filter(([key]) => account === undefined || key.startsWith(`${account}:`))
      .flatMap(([, list]) => list)
      .sort(newestFirst)
      .map((s) => s.record);
  }

  /** LookupEvents calls made on `account` in `region`, throttled and refused ones included. */
  calls(account: string, region: string): number {
    return this.#calls.get(`${account}:${region}`) ?? 0;
  }

  /** Of those calls, how many were throttled. */
  throttled(account: string, region: string): number {
    return this.#throttled.get(`${account}:${region}`) ?? 0;
  }

  /** LookupEvents in `account`, `region` (the shape of the adapter's `LookupEventsFn`). */
  readonly lookup = async (
    account: string,
    region: string,
    input: LookupEventsCommandInput,
  ): Promise<LookupEventsCommandOutput> => {
    const key = `${account}:${region}`;
    const now = this.#now().getTime();
    this.#calls.set(key, this.calls(account, region) + 1);
    this.#throttle(key, now);
    const attributes = input.LookupAttributes ?? [];
    if (attributes.length > 1)
      throw clientError(InvalidLookupAttributesException, 'LookupAttributes may contain only one item.');
    const attribute = attributes[0];
    if (attribute) {
      if (!attribute.AttributeKey || !ATTRIBUTE_KEYS.has(attribute.AttributeKey))
        throw clientError(
          InvalidLookupAttributesException,
          `AttributeKey must be one of ${[...ATTRIBUTE_KEYS].join(', ')}.`,
        );
      if (!attribute.AttributeValue || attribute.AttributeValue.length > 2000)
        throw clientError(InvalidLookupAttributesException, 'AttributeValue must be 1-2000 characters.');
    }
    const max = input.MaxResults ?? 50;
    if (!Number.isInteger(max) || max < 1 || max > 50)
      throw clientError(InvalidMaxResultsException, 'MaxResults must be between 1 and 50.');
    if (input.EventCategory !== undefined && input.EventCategory !== 'insight')
      throw clientError(InvalidEventCategoryException, 'EventCategory must be insight when present.');
    const start = input.StartTime?.getTime();
    const end = input.EndTime?.getTime();
    if (start !== undefined && end !== undefined && start > end)
      throw clientError(InvalidTimeRangeException, 'StartTime must be before EndTime.');
    const print = this.#print(key, input);
    const cursor = input.NextToken === undefined ? undefined : this.#open(input.NextToken, print);
    const oldest = Math.max(now - RETENTION_MS, start ?? Number.NEGATIVE_INFINITY);
    // No Insights events here; everything stored is a management or a data event.
    const candidates = input.EventCategory === 'insight' ? [] : (this.#stores.get(key) ?? []);
    const page: Stored[] = [];
    let more = false;
    for (const stored of candidates) {
      if (stored.time < oldest) break;
      if (end !== undefined && stored.time > end) continue;
      if (cursor && newestFirst(stored, { time: cursor.t, record: { eventID: cursor.id } }) <= 0) continue;
      const category = stored.record.eventCategory;
      if (category !== undefined && category !== 'Management') continue;
      if (attribute && !matches(stored.event, attribute.AttributeKey ?? '', attribute.AttributeValue ?? ''))
        continue;
      if (page.length === max) {
        more = true;
        break;
      }
      page.push(stored);
    }
    const last = page.at(-1);
    return {
      $metadata: { httpStatusCode: 200, requestId: randomUUID(), attempts: 1, totalRetryDelay: 0 },
      Events: page.map((s) => ({
        ...s.event,
        EventTime: new Date(s.time),
        Resources: s.event.Resources?.map((r) => ({ ...r })),
      })),
      ...(more && last
        ? { NextToken: this.#token({ q: print, t: last.time, id: last.record.eventID }) }
        : {}),
    };
  };

  /** Sliding window: a call when 2 were served within the last second is refused (and not counted as served). */
  #throttle(key: string, now: number): void {
    const recent = (this.#served.get(key) ?? []).filter((t) => t > now - RATE_WINDOW_MS);
    if (recent.length >= RATE_LIMIT) {
      this.#served.set(key, recent);
      this.#throttled.set(key, (this.#throttled.get(key) ?? 0) + 1);
      throw clientError(ThrottlingException, 'Rate exceeded');
    }
    recent.push(now);
    this.#served.set(key, recent);
  }

  /** What a NextToken is bound to: everything in the query except the token and the page size. */
  #print(key: string, input: LookupEventsCommandInput): string {
    const a = input.LookupAttributes?.[0];
    const parts = [
      key,
      a?.AttributeKey,
      a?.AttributeValue,
      input.StartTime?.getTime(),
      input.EndTime?.getTime(),
    ];
    return createHash('sha256')
      .update(JSON.stringify([...parts, input.EventCategory]))
      .digest('base64url')
      .slice(0, 22);
  }

  #token(cursor: Cursor): string {
    const body = Buffer.from(JSON.stringify(cursor)).toString('base64url');
    return `${body}.${createHmac('sha256', this.#tokenKey).update(body).digest('base64url')}`;
  }

  #open(token: string, print: string): Cursor {
    const [body = '', mac = ''] = token.split('.');
    const expected = createHmac('sha256', this.#tokenKey).update(body).digest('base64url');
    let cursor: Cursor | undefined;
    if (mac === expected) {
      try {
        cursor = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Cursor;
      } catch {
        cursor = undefined;
      }
    }
    if (!cursor || cursor.q !== print)
      throw clientError(
        InvalidNextTokenException,
        'NextToken is not valid for this query: pass it with the same parameters as the call that returned it.',
      );
    return cursor;
  }
}

/** Newest first; records of the same second by eventID, descending, so pages are stable. */
function newestFirst(
  a: { readonly time: number; readonly record: { readonly eventID: string } },
  b: { readonly time: number; readonly record: { readonly eventID: string } },
): number {
  if (a.time !== b.time) return b.time - a.time;
  return a.record.eventID < b.record.eventID ? 1 : a.record.eventID > b.record.eventID ? -1 : 0;
}
