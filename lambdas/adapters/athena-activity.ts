import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type Row,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { ActivityEvent, ActivityQuery, ActivityResult, SourceReport } from '#core/audit/activity.ts';
import type { AthenaSettings } from '#core/policy/config-schema.ts';
import { splitArn } from '#core/principals.ts';

/** Where Athena runs the query and writes its results (the config's `audit.athena`). */
export type AthenaActivitySettings = Pick<
  AthenaSettings,
  'database' | 'table' | 'workgroup' | 'outputLocation'
>;

/** Knobs of {@link AthenaActivity}; the defaults suit a Lambda, tests shrink them. */
export interface AthenaActivityOptions {
  /**
   * Waits between two GetQueryExecution polls (injected so tests do not wait).
   * @default setTimeout
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default 1000 */
  readonly pollIntervalMs?: number;
  /**
   * How long the query may run before it is stopped and the source reported as failed. The calling
   * function's own timeout must leave room for it.
   * @default 60000
   */
  readonly timeoutMs?: number;
  /**
   * Records read at most: past it the paging stops and the source says it was truncated (a role used all
   * day by a service could otherwise page for minutes).
   * @default 10000
   */
  readonly maxEvents?: number;
}

/**
 * The selected columns, `[alias, expression]`. The nested userIdentity fields come as columns of their own
 * and the resources as a JSON array of ARNs, so no row needs Athena's `{a=b, …}` struct text parsed (an S3
 * object ARN may hold spaces, commas and `=`).
 */
const COLUMNS = [
  ['event_id', 'eventid'],
  ['event_time', 'eventtime'],
  ['event_source', 'eventsource'],
  ['event_name', 'eventname'],
  ['aws_region', 'awsregion'],
  ['recipient_account_id', 'recipientaccountid'],
  ['event_category', 'eventcategory'],
  ['read_only', 'readonly'],
  ['identity_type', 'useridentity.type'],
  ['identity_arn', 'useridentity.arn'],
  ['principal_id', 'useridentity.principalid'],
  ['access_key_id', 'useridentity.accesskeyid'],
  ['source_identity', 'useridentity.sessioncontext.sourceidentity'],
  ['source_ip_address', 'sourceipaddress'],
  ['user_agent', 'useragent'],
  ['error_code', 'errorcode'],
  ['error_message', 'errormessage'],
  ['resource_arns', 'json_format(CAST(transform(resources, r -> r.arn) AS JSON))'],
] as const;

type Column = (typeof COLUMNS)[number][0];

/**
 * How a grant's calls are recognised. `credentials`: the session's access key id (one per AssumeRole).
 * `principal` (inline grants): the user itself, or any session of the role, limited to the granted
 * services' event sources (an empty list stands for every source).
 */
const CORRELATIONS = {
  credentials: 'useridentity.accesskeyid = ?',
  principal:
    "(useridentity.arn = ? OR useridentity.arn LIKE ? ESCAPE '\\') AND (? = '' OR contains(split(?, ' '), eventsource))",
} as const;

type Correlation = keyof typeof CORRELATIONS;

/** Glue/Athena identifiers the SQL text may hold (the config schema checks the same). */
const IDENTIFIER = /^[a-z0-9_]{1,128}$/;
const ACCOUNT = /^\d{12}$/;
const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;
const PARTITION_DATE = /^\d{4}\/\d{2}\/\d{2}$/;
const EVENT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** What an IAM role or user ARN is made of (IAM names: `[\w+=,.@-]`, plus `:` and `/` between segments). */
const PRINCIPAL_ARN_CHARS = /^[A-Za-z0-9_+=,.@:/-]{1,2048}$/;
/** `s3.amazonaws.com`, `execute-api.amazonaws.com`: dotted lower-case labels, no spaces (the list separator). */
const EVENT_SOURCE = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/;

/** Athena reads a string execution parameter as SQL text: it must be a quoted literal, quotes doubled. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A LIKE pattern matching `value` literally (with `ESCAPE '\'`). */
function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The statement for one correlation: only validated identifiers and constants, every value a `?`. */
export function activitySql(database: string, table: string, correlation: Correlation): string {
  if (!IDENTIFIER.test(database) || !IDENTIFIER.test(table)) {
    throw new Error('AthenaActivity: database and table must be 1-128 lower-case letters, digits or _');
  }
  return [
    `SELECT ${COLUMNS.map(([alias, expression]) => `${expression} AS ${alias}`).join(', ')}`,
    `FROM "${database}"."${table}"`,
    // The partition columns first: with partition projection Athena reads one account's prefix on the days
    // of the window only (the date is the day the file was delivered, which the window's end allows for).
    'WHERE "account" = ? AND "date" BETWEEN ? AND ?',
    'AND eventtime >= ? AND eventtime <= ?',
    `AND ${CORRELATIONS[correlation]}`,
    'ORDER BY eventtime, eventid',
  ].join('\n');
}

/** `yyyy/MM/dd` (UTC) of an instant: the trail's date partition. */
function partitionDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '/');
}

/** CloudTrail's `eventTime` text (whole seconds, `Z`), so the string comparison is a time comparison. */
function eventTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** Refuses a value that does not have the shape its parameter expects, naming the parameter only. */
function checked(name: string, value: string, shape: RegExp): string {
  if (!shape.test(value)) throw new Error(`AthenaActivity: ${name} is not valid`);
  return value;
}

/**
 * The correlation of a query and its parameter values, in the order of the `?` in its SQL: every value is
 * checked for its shape first, then quoted. Nothing else of the request (reason, ticket, requester) is read.
 */
export function activityParameters(query: ActivityQuery): { correlation: Correlation; parameters: string[] } {
  const start = Date.parse(query.start);
  const end = Date.parse(query.end);
  if (Number.isNaN(start) || Number.isNaN(end) || start > end) {
    throw new Error('AthenaActivity: the window must be two ISO 8601 instants, start before end');
  }
  const window = [
    checked('account', query.account, ACCOUNT),
    checked('start date', partitionDate(start), PARTITION_DATE),
    checked('end date', partitionDate(end), PARTITION_DATE),
    checked('start', eventTime(start), EVENT_TIME),
    // Rounded up to the second: a call in the window's last second still counts.
    checked('end', eventTime(Math.ceil(end / 1000) * 1000), EVENT_TIME),
  ];
  if (query.accessKeyId !== undefined) {
    return {
      correlation: 'credentials',
      parameters: [...window, checked('access key id', query.accessKeyId, ACCESS_KEY_ID)].map(sqlString),
    };
  }
  const principal = checked('principal ARN', query.principalArn, PRINCIPAL_ARN_CHARS);
  const parts = splitArn(principal);
  const [type, ...path] = (parts?.resource ?? '').split('/');
  const name = path.at(-1) ?? '';
  if (
    parts?.service !== 'iam' ||
    parts.region !== '' ||
    parts.account !== query.account ||
    (type !== 'role' && type !== 'user') ||
    name === ''
  ) {
    throw new Error('AthenaActivity: principal ARN must be a role or user of the queried account');
  }
  // A role acts through sessions (`assumed-role/<name>/<session>`, no path); a user acts as itself.
  const like =
    type === 'role'
      ? `${likeLiteral(`arn:${parts.partition}:sts::${parts.account}:assumed-role/${name}/`)}%`
      : likeLiteral(principal);
  const sources = query.eventSources.map((s) => checked('event source', s, EVENT_SOURCE)).join(' ');
  return {
    correlation: 'principal',
    parameters: [...window, principal, like, sources, sources].map(sqlString),
  };
}

/** One row as an event, by the header's column names; undefined for a row without id or time. */
function toEvent(row: Row, index: ReadonlyMap<string, number>): ActivityEvent | undefined {
  const at = (column: Column): string | undefined => {
    const value = row.Data?.[index.get(column) ?? -1]?.VarCharValue;
    return value === '' ? undefined : value;
  };
  const eventId = at('event_id');
  const eventTime = at('event_time');
  if (!eventId || !eventTime) return undefined;
  const readOnly = at('read_only');
  const arns = resourceArns(at('resource_arns'));
  const optional = <K extends string>(key: K, value: string | undefined) =>
    value === undefined ? {} : ({ [key]: value } as Record<K, string>);
  return {
    eventId,
    eventTime,
    eventSource: at('event_source') ?? '',
    eventName: at('event_name') ?? '',
    awsRegion: at('aws_region') ?? '',
    recipientAccountId: at('recipient_account_id') ?? '',
    eventCategory: at('event_category') === 'Data' ? 'Data' : 'Management',
    ...(readOnly === undefined ? {} : { readOnly: readOnly === 'true' }),
    userIdentity: {
      ...optional('type', at('identity_type')),
      ...optional('arn', at('identity_arn')),
      ...optional('principalId', at('principal_id')),
      ...optional('accessKeyId', at('access_key_id')),
      ...optional('sourceIdentity', at('source_identity')),
    },
    ...optional('sourceIPAddress', at('source_ip_address')),
    ...optional('userAgent', at('user_agent')),
    ...optional('errorCode', at('error_code')),
    ...optional('errorMessage', at('error_message')),
    resources: arns,
  };
}

/** The ARNs of the `resource_arns` column (a JSON array, NULL when the record lists none). */
function resourceArns(json: string | undefined): string[] {
  if (json === undefined) return [];
  try {
    const arns = JSON.parse(json) as unknown;
    return Array.isArray(arns) ? arns.filter((a): a is string => typeof a === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Activity from the Athena table over the organization trail (lib/cloudtrail-table.ts): the only source
 * of data events (s3:GetObject, dynamodb:GetItem, …). One parameterized query per review: its SQL text is
 * fixed per correlation kind and every value travels in `ExecutionParameters`, checked and quoted, so no
 * request text can change what runs. Never throws: a failure is the source's `error` in the report.
 */
export class AthenaActivity {
  readonly #athena: AthenaClient;
  readonly #settings: AthenaActivitySettings;
  readonly #sql: Readonly<Record<Correlation, string>>;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #pollIntervalMs: number;
  readonly #timeoutMs: number;
  readonly #maxEvents: number;

  constructor(athena: AthenaClient, settings: AthenaActivitySettings, options: AthenaActivityOptions = {}) {
    this.#athena = athena;
    this.#settings = settings;
    this.#sql = {
      credentials: activitySql(settings.database, settings.table, 'credentials'),
      principal: activitySql(settings.database, settings.table, 'principal'),
    };
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#maxEvents = options.maxEvents ?? 10_000;
  }

  async find(query: ActivityQuery): Promise<ActivityResult> {
    const report = { calls: 0, events: 0 };
    const source = (error?: string): SourceReport => ({
      name: `athena:${this.#settings.database}.${this.#settings.table}`,
      eventClasses: ['management', 'data'],
      ...report,
      ...(error === undefined ? {} : { error }),
    });
    const events: ActivityEvent[] = [];
    try {
      const { correlation, parameters } = activityParameters(query);
      const id = await this.#run(this.#sql[correlation], parameters, report, query.readBy);
      const truncated = await this.#read(id, events, report);
      return {
        events,
        sources: [source(truncated ? `truncated after ${this.#maxEvents} records` : undefined)],
      };
    } catch (error) {
      return { events, sources: [source(error instanceof Error ? error.message : String(error))] };
    }
  }

  /** Starts the query and waits for its end; the execution id once it succeeded. */
  async #run(sql: string, parameters: string[], report: { calls: number }, readBy?: string): Promise<string> {
    report.calls++;
    const started = await this.#athena.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        ExecutionParameters: parameters,
        QueryExecutionContext: { Database: this.#settings.database },
        WorkGroup: this.#settings.workgroup,
        ResultConfiguration: { OutputLocation: this.#settings.outputLocation },
      }),
    );
    const id = started.QueryExecutionId;
    if (!id) throw new Error('Athena StartQueryExecution returned no execution id');
    const budget =
      readBy === undefined ? this.#timeoutMs : Math.min(this.#timeoutMs, Date.parse(readBy) - Date.now());
    const polls = Math.max(1, Math.ceil(budget / this.#pollIntervalMs));
    for (let poll = 0; poll < polls; poll++) {
      await this.#sleep(this.#pollIntervalMs);
      report.calls++;
      const { QueryExecution } = await this.#athena.send(
        new GetQueryExecutionCommand({ QueryExecutionId: id }),
      );
      const state = QueryExecution?.Status?.State;
      if (state === 'SUCCEEDED') return id;
      if (state === 'FAILED' || state === 'CANCELLED') {
        const reason = QueryExecution?.Status?.StateChangeReason;
        throw new Error(`Athena query ${id} ${state.toLowerCase()}${reason ? `: ${reason}` : ''}`);
      }
    }
    // Stopped so it does not go on scanning (and billing) after the review gave up on it.
    report.calls++;
    await this.#athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
    throw new Error(`Athena query ${id} did not finish within ${Math.round(budget)} ms`);
  }

  /** Pages the results into `events`; true when it stopped at `maxEvents` with rows left. */
  async #read(
    id: string,
    events: ActivityEvent[],
    report: { calls: number; events: number },
  ): Promise<boolean> {
    let index: Map<string, number> | undefined;
    let token: string | undefined;
    do {
      report.calls++;
      const page = await this.#athena.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 1000, NextToken: token }),
      );
      let rows = page.ResultSet?.Rows ?? [];
      if (!index) {
        // The first row of the first page is the header: the column aliases, in the order of the SELECT.
        const header = rows[0]?.Data?.map((d) => d.VarCharValue ?? '') ?? [];
        index = new Map(header.map((name, i) => [name, i]));
        const missing = COLUMNS.filter(([alias]) => !index?.has(alias)).map(([alias]) => alias);
        if (missing.length > 0) throw new Error(`Athena results lack the columns ${missing.join(', ')}`);
        rows = rows.slice(1);
      }
      for (const row of rows) {
        if (report.events >= this.#maxEvents) return true;
        report.events++;
        const event = toEvent(row, index);
        if (event) events.push(event);
      }
      token = page.NextToken;
    } while (token);
    return false;
  }
}
