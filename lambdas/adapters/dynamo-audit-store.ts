import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ActivityReview } from '#core/audit/review-report.ts';
import { InvalidRequestError, RetryableAwsError, TransitionRefusedError } from '#core/errors.ts';
import { HOLDS_GRANT, IN_FLIGHT, isLegalTransition, type Status } from '#core/lifecycle.ts';
import type { AccessRequest, AuditEvent } from '#core/model.ts';
import type { AuditStore, RequestFilter, RequestPage, TransitionWrite } from '#core/ports.ts';
import { ACTIVE_GRANT, FOLLOW_UP, keys, OPEN_REQUEST, TABLE_SCHEMA } from './table-schema.ts';

type Item = Record<string, unknown>;

function toRequest(item: Item): AccessRequest {
  const { pk: _pk, sk: _sk, grantState: _g, openState: _o, ...rest } = item;
  return rest as unknown as AccessRequest;
}

function toEvent(item: Item): AuditEvent {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as AuditEvent;
}

/**
 * True when DynamoDB refused the write because of its conditions (or a concurrent transaction on the same
 * item): the request changed under us. A transaction cancelled for throttling or capacity is not a
 * refusal; it surfaces as RetryableAwsError so the caller (the state machine) retries.
 */
function refused(error: unknown): boolean {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e?.name === 'ConditionalCheckFailedException') return true;
  if (!(error instanceof TransactionCanceledException) && e?.name !== 'TransactionCanceledException')
    return false;
  const codes = (e.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
  if (codes.some((c) => c === 'ConditionalCheckFailed' || c === 'TransactionConflict')) return true;
  if (codes.some((c) => RETRYABLE_CANCELLATIONS.has(c))) {
    throw new RetryableAwsError(`DynamoDB cancelled the transaction: ${codes.join(', ')} (retryable)`);
  }
  return codes.length === 0;
}

const RETRYABLE_CANCELLATIONS = new Set([
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);

/** AuditStore on one DynamoDB table (see table-schema.ts for the item layout). */
export class DynamoAuditStore implements AuditStore {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(db: DynamoDBDocumentClient, tableName: string) {
    this.#db = db;
    this.#table = tableName;
  }

  async create(request: AccessRequest, event: AuditEvent): Promise<void> {
    try {
      await this.#db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.#table,
                Item: {
                  ...keys.meta(request.id),
                  ...request,
                  ...(IN_FLIGHT.includes(request.status)
                    ? { [TABLE_SCHEMA.indexes.openRequests.partitionKey]: OPEN_REQUEST }
                    : {}),
                  [TABLE_SCHEMA.indexes.byMonth.partitionKey]: monthOf(request.createdAt),
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.#table,
                Item: { ...keys.event(request.id, event.seq), ...event },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (refused(error)) throw new TransitionRefusedError(`request ${request.id} already exists`);
      throw error;
    }
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    const out = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: keys.meta(id), ConsistentRead: true }),
    );
    return out.Item ? toRequest(out.Item) : undefined;
  }

  async events(id: string): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :evt)',
          ExpressionAttributeValues: { ':pk': keys.requestPk(id), ':evt': keys.eventPrefix },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) events.push(toEvent(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return events;
  }

  async transition(id: string, write: TransitionWrite): Promise<void> {
    if (!isLegalTransition(write.from, write.to)) {
      throw new TransitionRefusedError(`illegal transition ${write.from} → ${write.to}`);
    }
    if (
      write.event.seq !== write.expectVersion + 1 ||
      write.event.from !== write.from ||
      write.event.to !== write.to
    ) {
      throw new TransitionRefusedError('event does not describe this transition');
    }
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = {
      ':from': write.from,
      ':to': write.to,
      ':v0': write.expectVersion,
      ':v1': write.event.seq,
      ':hash': write.event.hash,
      ':at': write.at,
    };
    const set = ['#status = :to', 'version = :v1', 'lastHash = :hash', 'updatedAt = :at'];
    const remove: string[] = [];
    const { patch } = write;
    // Every patch field is a top-level attribute: a value sets it, null removes it.
    Object.entries(patch ?? {}).forEach(([key, value], i) => {
      if (value === undefined) return;
      names[`#p${i}`] = key;
      if (value === null) remove.push(`#p${i}`);
      else {
        set.push(`#p${i} = :p${i}`);
        values[`:p${i}`] = value;
      }
    });
    if (HOLDS_GRANT.includes(write.to)) {
      set.push(`${TABLE_SCHEMA.indexes.activeGrants.partitionKey} = :active`);
      values[':active'] = ACTIVE_GRANT;
    } else if (HOLDS_GRANT.includes(write.from)) {
      remove.push(TABLE_SCHEMA.indexes.activeGrants.partitionKey);
    }
    const openState = TABLE_SCHEMA.indexes.openRequests.partitionKey;
    if (IN_FLIGHT.includes(write.to)) {
      set.push(`${openState} = :open`);
      values[':open'] = OPEN_REQUEST;
    } else if (typeof patch?.followUpAt === 'string') {
      set.push(`${openState} = :open`);
      values[':open'] = FOLLOW_UP;
    } else if (patch?.followUpAt === null || IN_FLIGHT.includes(write.from)) {
      remove.push(openState);
    }
    const update = `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`;
    try {
      await this.#db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.#table,
                Key: keys.meta(id),
                UpdateExpression: update,
                ConditionExpression: '#status = :from AND version = :v0',
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
              },
            },
            {
              Put: {
                TableName: this.#table,
                Item: { ...keys.event(id, write.event.seq), ...write.event },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (refused(error)) {
        throw new TransitionRefusedError(
          `request ${id} is no longer ${write.from} at version ${write.expectVersion}`,
        );
      }
      throw error;
    }
  }

  async findExpiredGrants(before: string, limit: number): Promise<AccessRequest[]> {
    const index = TABLE_SCHEMA.indexes.activeGrants;
    const out = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: index.name,
        KeyConditionExpression: '#g = :active AND #e < :before',
        ExpressionAttributeNames: { '#g': index.partitionKey, '#e': index.sortKey },
        ExpressionAttributeValues: { ':active': ACTIVE_GRANT, ':before': before },
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(toRequest);
  }

  async findInFlight(updatedBefore: string, limit: number): Promise<AccessRequest[]> {
    const index = TABLE_SCHEMA.indexes.openRequests;
    const out = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: index.name,
        KeyConditionExpression: '#o = :open AND #u < :before',
        ExpressionAttributeNames: { '#o': index.partitionKey, '#u': index.sortKey },
        ExpressionAttributeValues: { ':open': OPEN_REQUEST, ':before': updatedBefore },
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(toRequest);
  }

  async findPendingApproval(limit: number): Promise<AccessRequest[]> {
    return this.#openStateMatches(
      OPEN_REQUEST,
      '#status = :match',
      { '#status': 'status' },
      'PENDING_APPROVAL' satisfies Status,
      limit,
    );
  }

  async findFollowUps(dueBy: string, limit: number): Promise<AccessRequest[]> {
    // Few requests are followed up at once (reviews due within the hour, break-glass reviews open).
    return this.#openStateMatches(FOLLOW_UP, '#f <= :match', { '#f': 'followUpAt' }, dueBy, limit);
  }

  /**
   * Requests of one `openState` partition that pass `filter` (`:match` is its value), at most `limit`. The
   * filter runs after `Limit` items are read, so a page can hold fewer matches than asked for (or none)
   * while more follow: page on until `limit` matches or the end of the partition.
   */
  async #openStateMatches(
    state: string,
    filter: string,
    names: Record<string, string>,
    match: string,
    limit: number,
  ): Promise<AccessRequest[]> {
    const index = TABLE_SCHEMA.indexes.openRequests;
    const found: AccessRequest[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: index.name,
          KeyConditionExpression: '#o = :state',
          FilterExpression: filter,
          ExpressionAttributeNames: { '#o': index.partitionKey, ...names },
          ExpressionAttributeValues: { ':state': state, ':match': match },
          Limit: limit,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) found.push(toRequest(item));
      start = out.LastEvaluatedKey;
    } while (start && found.length < limit);
    return found.slice(0, limit);
  }

  async putReview(id: string, review: ActivityReview): Promise<void> {
    await this.#db.send(new PutCommand({ TableName: this.#table, Item: { ...keys.review(id), review } }));
  }

  async getReview(id: string): Promise<ActivityReview | undefined> {
    const out = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: keys.review(id), ConsistentRead: true }),
    );
    return out.Item?.review as ActivityReview | undefined;
  }

  async listAll(filter: RequestFilter, limit: number, after?: string): Promise<RequestPage> {
    const index = TABLE_SCHEMA.indexes.byMonth;
    const months = monthsBetween(filter.since, filter.until);
    const cursor = after === undefined ? undefined : decodeMonthCursor(after, months);
    const names: Record<string, string> = { '#m': index.partitionKey, '#c': index.sortKey };
    const values: Record<string, unknown> = { ':since': filter.since };
    const filters: string[] = [];
    if (filter.status) {
      names['#status'] = 'status';
      values[':status'] = filter.status;
      filters.push('#status = :status');
    }
    if (filter.ruleId) {
      values[':rule'] = filter.ruleId;
      filters.push('ruleId = :rule');
    }
    const items: AccessRequest[] = [];
    let m = cursor ? months.indexOf(cursor.month) : 0;
    let start = cursor?.key;
    for (; m < months.length; m++) {
      do {
        const out: QueryCommandOutput = await this.#db.send(
          new QueryCommand({
            TableName: this.#table,
            IndexName: index.name,
            KeyConditionExpression: '#m = :m AND #c >= :since',
            ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ...values, ':m': months[m] },
            ScanIndexForward: false,
            // Never read past what fits the page: the last key read is then exactly where the next starts.
            Limit: limit - items.length,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of out.Items ?? []) items.push(toRequest(item));
        start = out.LastEvaluatedKey;
        if (items.length >= limit) {
          const month = months[m] as string;
          if (start) return { items, next: encodeCursor({ month, key: start }) };
          return m + 1 < months.length
            ? { items, next: encodeCursor({ month: months[m + 1] as string }) }
            : { items };
        }
      } while (start);
    }
    return { items };
  }

  async listByRequester(requester: string, limit: number, after?: string): Promise<RequestPage> {
    const index = TABLE_SCHEMA.indexes.byRequester;
    const out = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: index.name,
        KeyConditionExpression: '#r = :r',
        ExpressionAttributeNames: { '#r': index.partitionKey },
        ExpressionAttributeValues: { ':r': requester },
        ScanIndexForward: false,
        Limit: limit,
        ...(after === undefined ? {} : { ExclusiveStartKey: decodeCursor(after, requester) }),
      }),
    );
    const items = (out.Items ?? []).map(toRequest);
    // DynamoDB may hand back a key even when nothing follows; an empty page is never offered as "next".
    return out.LastEvaluatedKey && items.length > 0
      ? { items, next: encodeCursor(out.LastEvaluatedKey) }
      : { items };
  }
}

/** `yyyy-MM` of an ISO 8601 instant: the auditors' index partition. */
export function monthOf(at: string): string {
  return at.slice(0, 7);
}

/** The months from `until` back to `since`, newest first. */
function monthsBetween(since: string, until: string): string[] {
  const months: string[] = [];
  const first = monthOf(since);
  let [y, mo] = monthOf(until).split('-').map(Number) as [number, number];
  for (let month = monthOf(until); month >= first && months.length < 1200; ) {
    months.push(month);
    mo -= 1;
    if (mo === 0) {
      mo = 12;
      y -= 1;
    }
    month = `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}`;
  }
  return months;
}

/** A cursor's JSON, or undefined when it is not base64url JSON. */
function parseCursor(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** True when `k` is exactly a start key of `index` (table and index keys, strings) in `partition`. */
function isIndexKey(
  k: unknown,
  index: { readonly partitionKey: string; readonly sortKey: string },
  partition: unknown,
): k is Record<string, unknown> {
  const fields = [TABLE_SCHEMA.partitionKey, TABLE_SCHEMA.sortKey, index.partitionKey, index.sortKey];
  if (k === null || typeof k !== 'object') return false;
  const key = k as Record<string, unknown>;
  return (
    Object.keys(key).length === fields.length &&
    fields.every((f) => typeof key[f] === 'string') &&
    key[index.partitionKey] === partition
  );
}

/** The refusal of a cursor this store did not make for this listing (400, field `next`). */
function foreignCursor(what: string): InvalidRequestError {
  return new InvalidRequestError('next is not a cursor of this listing', [
    { field: 'next', message: `is not a cursor returned by GET /requests for this ${what}` },
  ]);
}

/** A cursor of the auditors' listing, refused (400, field `next`) unless it is one of this window's. */
function decodeMonthCursor(
  cursor: string,
  months: readonly string[],
): { month: string; key?: Record<string, unknown> } {
  const c = parseCursor(cursor) as { month?: unknown; key?: unknown } | undefined;
  if (
    !c ||
    typeof c !== 'object' ||
    typeof c.month !== 'string' ||
    !months.includes(c.month) ||
    (c.key !== undefined && !isIndexKey(c.key, TABLE_SCHEMA.indexes.byMonth, c.month))
  ) {
    throw foreignCursor('filter');
  }
  return c.key ? { month: c.month, key: c.key as Record<string, unknown> } : { month: c.month };
}

/** The position after a page: the index key of its last item, base64url JSON (opaque to callers). */
function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/**
 * A cursor back into a start key, refused (400, field `next`) unless it is one this store made for this
 * very requester: a crafted cursor must not walk someone else's requests.
 */
function decodeCursor(cursor: string, requester: string): Record<string, unknown> {
  const key = parseCursor(cursor);
  if (!isIndexKey(key, TABLE_SCHEMA.indexes.byRequester, requester)) throw foreignCursor('caller');
  return key;
}
