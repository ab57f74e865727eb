import 'aws-sdk-client-mock-vitest/extend';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type Row,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { AthenaActivity, activitySql } from '#adapters/athena-activity.ts';
import type { ActivityQuery } from '#core/audit/activity.ts';

const athenaMock = mockClient(AthenaClient);

afterEach(() => {
  athenaMock.reset();
});

const SETTINGS = {
  database: 'jit_audit',
  table: 'cloudtrail',
  workgroup: 'jit-review',
  outputLocation: 's3://jit-athena-results/reviews/',
};

/** An inline grant on a role: every session of the role, S3 and DynamoDB calls. */
const INLINE: ActivityQuery = {
  requestId: 'req-1',
  account: '111122223333',
  start: '2026-11-25T12:00:00.000Z',
  end: '2026-11-25T13:15:00.000Z',
  principalArn: 'arn:aws:iam::111122223333:role/ops/jit_ops-admin',
  eventSources: ['s3.amazonaws.com', 'dynamodb.amazonaws.com'],
};

/** A credentials grant: its session's access key id. */
const CREDENTIALS: ActivityQuery = {
  ...INLINE,
  principalArn: 'arn:aws:iam::111122223333:role/jit-release-prod',
  accessKeyId: 'ASIAEXAMPLE1234567890',
  sessionName: 'jit-req-1',
  sourceIdentity: 'alice',
  eventSources: [],
};

/** The result columns as the adapter names them (any order: rows are read by the header's names). */
const HEADER = [
  'event_id',
  'event_time',
  'event_source',
  'event_name',
  'aws_region',
  'recipient_account_id',
  'event_category',
  'read_only',
  'identity_type',
  'identity_arn',
  'principal_id',
  'access_key_id',
  'source_identity',
  'source_ip_address',
  'user_agent',
  'error_code',
  'error_message',
  'resource_arns',
] as const;

const header = (names: readonly string[] = HEADER): Row => ({
  Data: names.map((n) => ({ VarCharValue: n })),
});

/** One result row; a field left out is NULL (no VarCharValue), as Athena returns it. */
function record(
  fields: Partial<Record<(typeof HEADER)[number], string>>,
  names: readonly (typeof HEADER)[number][] = HEADER,
): Row {
  return {
    Data: names.map((n) => {
      const value = fields[n];
      return value === undefined ? {} : { VarCharValue: value };
    }),
  };
}

const event = (id: string, extra: Partial<Record<(typeof HEADER)[number], string>> = {}) =>
  record({
    event_id: id,
    event_time: '2026-11-25T12:05:00Z',
    event_source: 's3.amazonaws.com',
    event_name: 'ListBuckets',
    aws_region: 'eu-west-1',
    recipient_account_id: '111122223333',
    event_category: 'Management',
    ...extra,
  });

/** Athena answers: the query runs once, then succeeds; results come as given. */
function succeeds(...pages: { rows: Row[]; next?: string }[]) {
  athenaMock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'qe-1' });
  athenaMock
    .on(GetQueryExecutionCommand)
    .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
    .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
  const results = athenaMock.on(GetQueryResultsCommand);
  pages.forEach((page, i) => {
    const answer = { ResultSet: { Rows: page.rows }, ...(page.next ? { NextToken: page.next } : {}) };
    // The last page answers every later call too (several queries in one test).
    if (i === pages.length - 1) results.resolves(answer);
    else results.resolvesOnce(answer);
  });
}

/** An adapter that never waits; the waits it asked for are recorded. */
function activity(options: { timeoutMs?: number; maxEvents?: number } = {}) {
  const waits: number[] = [];
  const source = new AthenaActivity(new AthenaClient({ region: 'eu-west-1' }), SETTINGS, {
    sleep: async (ms) => {
      waits.push(ms);
    },
    pollIntervalMs: 500,
    ...options,
  });
  return { source, waits };
}

/** What StartQueryExecution received, call by call. */
const started = () => athenaMock.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);

describe('AthenaActivity', () => {
  it('sends the same SQL text whatever the values, one constant per correlation kind', async () => {
    // Prepare
    succeeds({ rows: [header()] });
    const { source } = activity();
    // Act
    await source.find(INLINE);
    await source.find({
      ...INLINE,
      principalArn: 'arn:aws:iam::111122223333:user/bob',
      account: '111122223333',
    });
    await source.find({ ...INLINE, start: '2025-01-01T00:00:00Z', eventSources: [] });
    await source.find(CREDENTIALS);
    await source.find({ ...CREDENTIALS, accessKeyId: 'ASIAOTHERKEY0000000000', end: '2026-12-01T00:00:00Z' });
    // Assess
    const texts = started().map((input) => input.QueryString);
    expect(texts).toEqual([
      ...Array(3).fill(activitySql('jit_audit', 'cloudtrail', 'principal')),
      ...Array(2).fill(activitySql('jit_audit', 'cloudtrail', 'credentials')),
    ]);
    expect(started()[0]).toMatchObject({
      QueryExecutionContext: { Database: 'jit_audit' },
      WorkGroup: 'jit-review',
      ResultConfiguration: { OutputLocation: 's3://jit-athena-results/reviews/' },
    });
  });

  it('keeps request text out of the query: a reason or ticket full of SQL changes nothing', async () => {
    // Prepare
    succeeds({ rows: [header()] });
    const { source } = activity();
    const hostile = {
      ...INLINE,
      reason: "'; DROP TABLE x; --",
      ticket: "OPS-1' OR '1'='1",
      requester: "arn:aws:sts::111122223333:assumed-role/Dev/x'; DELETE FROM y; --",
    } as ActivityQuery;
    // Act
    await source.find(INLINE);
    await source.find(hostile);
    // Assess
    const [plain, attacked] = started();
    expect(attacked?.QueryString).toBe(plain?.QueryString);
    expect(attacked?.ExecutionParameters).toEqual(plain?.ExecutionParameters);
    const everything = JSON.stringify(attacked);
    expect(everything).not.toContain('DROP');
    expect(everything).not.toContain('DELETE');
    expect(everything).not.toContain('OPS-1');
  });

  it('passes every value as a quoted SQL string literal, one per placeholder', async () => {
    // Prepare
    succeeds({ rows: [header()] });
    const { source } = activity();
    // Act
    await source.find(INLINE);
    await source.find(CREDENTIALS);
    // Assess
    for (const input of started()) {
      const placeholders = (input.QueryString ?? '').split('?').length - 1;
      expect(input.ExecutionParameters).toHaveLength(placeholders);
      for (const parameter of input.ExecutionParameters ?? []) expect(parameter).toMatch(/^'(?:[^']|'')*'$/);
    }
  });

  it('prunes partitions to the account and the days of the window, across midnight', async () => {
    // Prepare
    succeeds({ rows: [header()] });
    const { source } = activity();
    // Act
    await source.find({ ...CREDENTIALS, start: '2026-11-25T23:50:00.000Z', end: '2026-11-26T00:20:00.400Z' });
    // Assess
    const [input] = started();
    expect(input?.QueryString).toContain('WHERE "account" = ? AND "date" BETWEEN ? AND ?');
    expect(input?.QueryString).toContain('AND eventtime >= ? AND eventtime <= ?');
    expect(input?.QueryString).toContain('useridentity.accesskeyid = ?');
    expect(input?.ExecutionParameters).toEqual([
      "'111122223333'",
      "'2026/11/25'",
      "'2026/11/26'",
      "'2026-11-25T23:50:00Z'",
      // Rounded up to the next second: a call in the window's last second still counts.
      "'2026-11-26T00:20:01Z'",
      "'ASIAEXAMPLE1234567890'",
    ]);
  });

  it('matches any session of a role (name escaped for LIKE, path dropped) or the user itself', async () => {
    // Prepare
    succeeds({ rows: [header()] });
    const { source } = activity();
    // Act
    await source.find(INLINE);
    await source.find({
      ...INLINE,
      principalArn: 'arn:aws:iam::111122223333:user/people/bob',
      eventSources: [],
    });
    // Assess
    const [role, user] = started();
    expect(role?.QueryString).toContain("useridentity.arn = ? OR useridentity.arn LIKE ? ESCAPE '\\'");
    expect(role?.ExecutionParameters?.slice(1, 3)).toEqual(["'2026/11/25'", "'2026/11/25'"]);
    expect(role?.ExecutionParameters?.slice(5)).toEqual([
      "'arn:aws:iam::111122223333:role/ops/jit_ops-admin'",
      "'arn:aws:sts::111122223333:assumed-role/jit\\_ops-admin/%'",
      "'s3.amazonaws.com dynamodb.amazonaws.com'",
      "'s3.amazonaws.com dynamodb.amazonaws.com'",
    ]);
    expect(user?.ExecutionParameters?.slice(5)).toEqual([
      "'arn:aws:iam::111122223333:user/people/bob'",
      "'arn:aws:iam::111122223333:user/people/bob'",
      "''",
      "''",
    ]);
  });

  it('refuses values of the wrong shape and reports it without querying', async () => {
    // Prepare
    succeeds({ rows: [header()] });
    const { source } = activity();
    const bad: ActivityQuery[] = [
      { ...CREDENTIALS, account: "111122223333' OR '1'='1" },
      { ...CREDENTIALS, accessKeyId: "ASIA'; DROP TABLE x; --" },
      { ...INLINE, principalArn: "arn:aws:iam::111122223333:role/x'--" },
      { ...INLINE, principalArn: 'arn:aws:iam::111122223333:role/x\nUNION' },
      { ...INLINE, principalArn: 'arn:aws:iam::999988887777:role/elsewhere' },
      { ...INLINE, principalArn: 'arn:aws:s3:::bucket/role/x' },
      { ...INLINE, eventSources: ["s3.amazonaws.com' OR '1'='1"] },
      { ...INLINE, start: 'yesterday' },
      { ...INLINE, start: INLINE.end, end: INLINE.start },
    ];
    // Act
    const results = await Promise.all(bad.map((q) => source.find(q)));
    // Assess
    expect(athenaMock.calls()).toHaveLength(0);
    for (const result of results) {
      expect(result.events).toEqual([]);
      expect(result.sources).toEqual([
        {
          name: 'athena:jit_audit.cloudtrail',
          eventClasses: ['management', 'data'],
          calls: 0,
          events: 0,
          error: expect.stringMatching(/^AthenaActivity: /),
        },
      ]);
    }
  });

  it('refuses a database or table name that is not a plain identifier', () => {
    // Act
    const build = (database: string, table: string) => () =>
      new AthenaActivity(new AthenaClient({}), { ...SETTINGS, database, table });
    // Assess
    expect(build('jit_audit"; --', 'cloudtrail')).toThrow(/database and table/);
    expect(build('jit_audit', 'Cloud-Trail')).toThrow(/database and table/);
  });

  it('pages the results with NextToken, skipping the header on the first page only', async () => {
    // Prepare
    succeeds({ rows: [header(), event('e-1'), event('e-2')], next: 'page-2' }, { rows: [event('e-3')] });
    const { source, waits } = activity();
    // Act
    const result = await source.find(CREDENTIALS);
    // Assess
    expect(result.events.map((e) => e.eventId)).toEqual(['e-1', 'e-2', 'e-3']);
    expect(athenaMock).toHaveReceivedCommandTimes(GetQueryExecutionCommand, 2);
    expect(athenaMock).toHaveReceivedNthCommandWith(GetQueryResultsCommand, 1, {
      QueryExecutionId: 'qe-1',
      NextToken: undefined,
    });
    expect(athenaMock).toHaveReceivedNthCommandWith(GetQueryResultsCommand, 2, {
      QueryExecutionId: 'qe-1',
      NextToken: 'page-2',
    });
    expect(waits).toEqual([500, 500]);
    // 1 StartQueryExecution + 2 GetQueryExecution polls + 2 GetQueryResults pages.
    expect(result.sources).toEqual([
      { name: 'athena:jit_audit.cloudtrail', eventClasses: ['management', 'data'], calls: 5, events: 3 },
    ]);
  });

  it('maps rows by column name: data events, resources, denied calls, NULLs left out', async () => {
    // Prepare
    const reversed = [...HEADER].reverse();
    succeeds({
      rows: [
        header(reversed),
        record(
          {
            event_id: 'e-data',
            event_time: '2026-11-25T12:10:00Z',
            event_source: 's3.amazonaws.com',
            event_name: 'GetObject',
            aws_region: 'eu-west-1',
            recipient_account_id: '111122223333',
            event_category: 'Data',
            read_only: 'true',
            identity_type: 'AssumedRole',
            identity_arn: 'arn:aws:sts::111122223333:assumed-role/jit-release-prod/jit-req-1',
            principal_id: 'AROAEXAMPLE:jit-req-1',
            access_key_id: 'ASIAEXAMPLE1234567890',
            source_identity: 'alice',
            source_ip_address: '203.0.113.7',
            user_agent: 'aws-cli/2.15',
            resource_arns: '["arn:aws:s3:::reports/q4 plan, v2=final.pdf","arn:aws:s3:::reports"]',
          },
          reversed,
        ),
        record(
          {
            event_id: 'e-denied',
            event_time: '2026-11-25T12:11:00Z',
            event_source: 'iam.amazonaws.com',
            event_name: 'DeleteRole',
            aws_region: 'us-east-1',
            recipient_account_id: '111122223333',
            event_category: 'Management',
            read_only: 'false',
            access_key_id: 'ASIAEXAMPLE1234567890',
            error_code: 'AccessDenied',
            error_message: 'User is not authorized to perform: iam:DeleteRole',
          },
          reversed,
        ),
      ],
    });
    const { source } = activity();
    // Act
    const result = await source.find(CREDENTIALS);
    // Assess
    expect(result.events).toEqual([
      {
        eventId: 'e-data',
        eventTime: '2026-11-25T12:10:00Z',
        eventSource: 's3.amazonaws.com',
        eventName: 'GetObject',
        awsRegion: 'eu-west-1',
        recipientAccountId: '111122223333',
        eventCategory: 'Data',
        readOnly: true,
        userIdentity: {
          type: 'AssumedRole',
          arn: 'arn:aws:sts::111122223333:assumed-role/jit-release-prod/jit-req-1',
          principalId: 'AROAEXAMPLE:jit-req-1',
          accessKeyId: 'ASIAEXAMPLE1234567890',
          sourceIdentity: 'alice',
        },
        sourceIPAddress: '203.0.113.7',
        userAgent: 'aws-cli/2.15',
        resources: ['arn:aws:s3:::reports/q4 plan, v2=final.pdf', 'arn:aws:s3:::reports'],
      },
      {
        eventId: 'e-denied',
        eventTime: '2026-11-25T12:11:00Z',
        eventSource: 'iam.amazonaws.com',
        eventName: 'DeleteRole',
        awsRegion: 'us-east-1',
        recipientAccountId: '111122223333',
        eventCategory: 'Management',
        readOnly: false,
        userIdentity: { accessKeyId: 'ASIAEXAMPLE1234567890' },
        errorCode: 'AccessDenied',
        errorMessage: 'User is not authorized to perform: iam:DeleteRole',
        resources: [],
      },
    ]);
  });

  it('reports a FAILED query as the source error, with what Athena said', async () => {
    // Prepare
    athenaMock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'qe-9' });
    athenaMock.on(GetQueryExecutionCommand).resolves({
      QueryExecution: {
        Status: { State: 'FAILED', StateChangeReason: 'Access denied when writing output to url' },
      },
    });
    const { source } = activity();
    // Act
    const result = await source.find(INLINE);
    // Assess
    expect(result).toEqual({
      events: [],
      sources: [
        {
          name: 'athena:jit_audit.cloudtrail',
          eventClasses: ['management', 'data'],
          calls: 2,
          events: 0,
          error: 'Athena query qe-9 failed: Access denied when writing output to url',
        },
      ],
    });
    expect(athenaMock).not.toHaveReceivedCommand(GetQueryResultsCommand);
  });

  it('reports an SDK error instead of throwing', async () => {
    // Prepare
    athenaMock
      .on(StartQueryExecutionCommand)
      .rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    const { source } = activity();
    // Act
    const result = await source.find(INLINE);
    // Assess
    expect(result.sources[0]).toMatchObject({ calls: 1, events: 0, error: 'User is not authorized' });
  });

  it('stops a query that outruns the timeout and reports it', async () => {
    // Prepare
    athenaMock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'qe-slow' });
    athenaMock.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'RUNNING' } } });
    athenaMock.on(StopQueryExecutionCommand).resolves({});
    const { source, waits } = activity({ timeoutMs: 1500 });
    // Act
    const result = await source.find(INLINE);
    // Assess
    expect(waits).toEqual([500, 500, 500]);
    expect(athenaMock).toHaveReceivedCommandWith(StopQueryExecutionCommand, { QueryExecutionId: 'qe-slow' });
    expect(result.sources[0]).toMatchObject({
      calls: 5,
      error: 'Athena query qe-slow did not finish within 1500 ms',
    });
  });

  it('stops paging at maxEvents and says the source was truncated', async () => {
    // Prepare
    succeeds({ rows: [header(), event('e-1'), event('e-2')], next: 'page-2' }, { rows: [event('e-3')] });
    const { source } = activity({ maxEvents: 2 });
    // Act
    const result = await source.find(CREDENTIALS);
    // Assess
    expect(result.events.map((e) => e.eventId)).toEqual(['e-1', 'e-2']);
    expect(result.sources[0]).toMatchObject({ events: 2, error: 'truncated after 2 records' });
  });
});
