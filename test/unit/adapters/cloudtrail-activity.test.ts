import 'aws-sdk-client-mock-vitest/extend';
import {
  CloudTrailClient,
  type Event as LookupEvent,
  LookupEventsCommand,
  type LookupEventsCommandInput,
  type LookupEventsCommandOutput,
  ThrottlingException,
} from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { activityEventOf, CloudTrailActivity, sdkLookup } from '#adapters/cloudtrail-activity.ts';
import { Pacer } from '#adapters/pacer.ts';
import type { ActivityQuery } from '#core/audit/activity.ts';
import { VirtualTime } from '../../support/virtual-time.ts';

const A = '111122223333';
const OTHER = '222233334444';
const KEY = 'ASIAEXAMPLEKEY0001';
const ROLE = `arn:aws:iam::${A}:role/team/app-reader`;
const SESSION = `arn:aws:sts::${A}:assumed-role/app-reader/jit-req-0001`;
const START = '2026-12-01T10:00:00.000Z';
const END = '2026-12-01T11:15:00.000Z';

const credentialsQuery: ActivityQuery = {
  requestId: 'req-0001',
  account: A,
  start: START,
  end: END,
  principalArn: ROLE,
  accessKeyId: KEY,
  sessionName: 'jit-req-0001',
  eventSources: ['s3.amazonaws.com'],
};
const inlineQuery: ActivityQuery = {
  requestId: 'req-0002',
  account: A,
  start: START,
  end: END,
  principalArn: ROLE,
  eventSources: ['s3.amazonaws.com', 'dynamodb.amazonaws.com'],
};

/** A CloudTrail record (the `CloudTrailEvent` JSON text) of one call by `arn`. */
function record(id: string, region: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    eventVersion: '1.09',
    userIdentity: { type: 'AssumedRole', arn: SESSION, accessKeyId: KEY },
    eventTime: '2026-12-01T10:05:00Z',
    eventSource: 's3.amazonaws.com',
    eventName: 'GetObject',
    awsRegion: region,
    eventID: id,
    readOnly: true,
    recipientAccountId: A,
    eventCategory: 'Management',
    ...fields,
  });
}

/** One LookupEvents call as the fake saw it. */
interface Call {
  readonly account: string;
  readonly region: string;
  readonly attribute: string;
  readonly token: string | undefined;
  readonly at: number;
  readonly input: LookupEventsCommandInput;
  readonly throttled: boolean;
}

/**
 * A LookupEvents that serves `pages(region, attribute value)` page by page (NextToken `p<n>`), records
 * every call with the virtual time it was made at, and fails a call when `fail` returns an error for it.
 */
function fakeLookup(
  time: VirtualTime,
  pages: (region: string, attribute: string) => LookupEvent[][],
  fail: (n: number, call: Omit<Call, 'throttled'>) => Error | undefined = () => undefined,
) {
  const calls: Call[] = [];
  const lookup = async (account: string, region: string, input: LookupEventsCommandInput) => {
    const attribute = input.LookupAttributes?.[0]?.AttributeValue ?? '';
    const call = { account, region, attribute, token: input.NextToken, at: time.now, input };
    const error = fail(calls.length, call);
    calls.push({ ...call, throttled: error !== undefined });
    if (error) throw error;
    const all = pages(region, attribute);
    const index = input.NextToken === undefined ? 0 : Number(input.NextToken.slice(1));
    const output: LookupEventsCommandOutput = {
      $metadata: {},
      Events: all[index] ?? [],
      ...(index + 1 < all.length ? { NextToken: `p${index + 1}` } : {}),
    };
    return output;
  };
  return { lookup, calls };
}

/** `count` pages of 50 records each, ids `<prefix>-<page>-<n>`. */
function manyPages(prefix: string, region: string, count: number): LookupEvent[][] {
  return Array.from({ length: count }, (_, page) =>
    Array.from({ length: 50 }, (_, n) => {
      const id = `${prefix}-${page}-${n}`;
      return { EventId: id, CloudTrailEvent: record(id, region) };
    }),
  );
}

/** The first sliding window of a second holding more than `limit` calls of one account and region. */
function overfullWindow(calls: readonly Call[], limit = 2): string | undefined {
  const byKey = new Map<string, number[]>();
  for (const c of calls)
    byKey.set(`${c.account}:${c.region}`, [...(byKey.get(`${c.account}:${c.region}`) ?? []), c.at]);
  for (const [key, times] of byKey) {
    const sorted = times.sort((a, b) => a - b);
    for (let i = 0; i + limit < sorted.length; i += 1) {
      if ((sorted[i + limit] ?? 0) - (sorted[i] ?? 0) < 1000)
        return `${key}: ${sorted.slice(i, i + limit + 1)}`;
    }
  }
  return undefined;
}

const throttling = (kind: number): Error => {
  if (kind % 3 === 0) return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
  if (kind % 3 === 1)
    return Object.assign(new Error('Too Many Requests'), { $metadata: { httpStatusCode: 429 } });
  return Object.assign(new Error('slow down'), { name: 'SomethingElse', $retryable: { throttling: true } });
};

describe('CloudTrailActivity', () => {
  it('reads 300 pages per region at most 2 calls per second per region, returning every event once', async () => {
    // Prepare
    const time = new VirtualTime();
    const regions = ['eu-west-1', 'us-east-1'];
    const served = new Map(regions.map((r) => [r, manyPages(r, r, 300)]));
    const { lookup, calls } = fakeLookup(time, (region) => served.get(region) ?? []);
    const activity = new CloudTrailActivity({
      lookup,
      regions,
      pacer: new Pacer({ now: time.clock, sleep: time.sleep }),
      sleep: time.sleep,
    });
    // Act
    const result = await time.run(activity.find(credentialsQuery));
    // Assess
    expect(overfullWindow(calls)).toBeUndefined();
    expect(calls).toHaveLength(600);
    for (const region of regions) {
      const tokens = calls.filter((c) => c.region === region).map((c) => c.token);
      expect(tokens).toEqual([undefined, ...Array.from({ length: 299 }, (_, i) => `p${i + 1}`)]);
    }
    const expected = regions.flatMap((r) => (served.get(r) ?? []).flat().map((e) => e.EventId));
    const ids = result.events.map((e) => e.eventId);
    expect(ids).toHaveLength(30_000);
    expect(new Set(ids).size).toBe(30_000);
    expect([...ids].sort()).toEqual([...expected].sort());
    expect(result.sources).toEqual([
      { name: `cloudtrail:${A}:eu-west-1`, eventClasses: ['management'], calls: 300, events: 15_000 },
      { name: `cloudtrail:${A}:us-east-1`, eventClasses: ['management'], calls: 300, events: 15_000 },
    ]);
    // 300 calls at 2 per 1.05 s (the pacer's margin): the last one starts 149 × 1.05 s after the first.
    expect(time.now).toBe(156_450);
  });

  it("stops at the query's read budget and says how far it got, keeping what it read", async () => {
    // Prepare: 100 pages, 5 virtual seconds of budget (about 10 calls at 2 per 1.05 s)
    const time = new VirtualTime();
    const { lookup, calls } = fakeLookup(time, (region, attribute) => manyPages(attribute, region, 100));
    const activity = new CloudTrailActivity({
      lookup,
      regions: ['eu-west-1'],
      pacer: new Pacer({ now: time.clock, sleep: time.sleep }),
      sleep: time.sleep,
      now: time.clock,
    });
    const readBy = new Date(5000).toISOString();
    // Act
    const result = await time.run(activity.find({ ...credentialsQuery, readBy }));
    const unbounded = await time.run(activity.find(credentialsQuery));
    // Assess
    expect(calls.length).toBeGreaterThan(100);
    const bounded = calls.length - 100;
    expect(bounded).toBeGreaterThanOrEqual(8);
    expect(bounded).toBeLessThanOrEqual(11);
    expect(result.events).toHaveLength(bounded * 50);
    expect(result.sources[0]?.error).toContain('stopped at the read budget');
    expect(unbounded.events).toHaveLength(5000);
    expect(unbounded.sources[0]?.error).toBeUndefined();
  });

  it('shares the quota between concurrent queries through one pacer', async () => {
    // Prepare
    const time = new VirtualTime();
    const { lookup, calls } = fakeLookup(time, (region, attribute) => manyPages(attribute, region, 20));
    const pacer = new Pacer({ now: time.clock, sleep: time.sleep });
    const one = new CloudTrailActivity({ lookup, regions: ['eu-west-1'], pacer, sleep: time.sleep });
    const two = new CloudTrailActivity({ lookup, regions: ['eu-west-1'], pacer, sleep: time.sleep });
    // Act
    const [a, b] = await time.run(Promise.all([one.find(inlineQuery), two.find(credentialsQuery)]));
    // Assess
    expect(calls).toHaveLength(60);
    expect(overfullWindow(calls)).toBeUndefined();
    expect(a?.events).toHaveLength(2000);
    expect(b?.events).toHaveLength(1000);
  });

  it('retries a throttled page with the same NextToken and loses no page', async () => {
    // Prepare
    const time = new VirtualTime();
    const served = manyPages('e', 'eu-west-1', 40);
    const backoffs: number[] = [];
    // Every third call is throttled, and calls 20 to 22 all are (three in a row).
    const { lookup, calls } = fakeLookup(
      time,
      () => served,
      (n) => (n % 3 === 2 || (n >= 20 && n <= 22) ? throttling(n) : undefined),
    );
    const activity = new CloudTrailActivity({
      lookup,
      regions: ['eu-west-1'],
      pacer: new Pacer({ now: time.clock, sleep: time.sleep }),
      sleep: (ms) => {
        backoffs.push(ms);
        return time.sleep(ms);
      },
      random: () => 0.5,
    });
    // Act
    const result = await time.run(activity.find(credentialsQuery));
    // Assess
    calls.forEach((call, i) => {
      if (call.throttled) expect(calls[i + 1]?.token).toBe(call.token);
    });
    expect(calls.filter((c) => c.throttled).length).toBeGreaterThan(15);
    expect(calls.filter((c) => !c.throttled).map((c) => c.token)).toEqual([
      undefined,
      ...Array.from({ length: 39 }, (_, i) => `p${i + 1}`),
    ]);
    const ids = result.events.map((e) => e.eventId);
    expect(ids).toHaveLength(2000);
    expect(new Set(ids)).toEqual(new Set(served.flat().map((e) => e.EventId)));
    expect(result.sources).toEqual([
      { name: `cloudtrail:${A}:eu-west-1`, eventClasses: ['management'], calls: calls.length, events: 2000 },
    ]);
    // Three throttles in a row back off 500, 1000 and 2000 ms (three quarters of each with this jitter).
    expect(backoffs.join(',')).toContain('375,750,1500');
    expect(overfullWindow(calls)).toBeUndefined();
  });

  it('backs off exponentially up to 8 s, then reports the region and keeps the other region', async () => {
    // Prepare
    const time = new VirtualTime();
    const served = manyPages('e', 'eu-west-1', 3);
    const other = manyPages('u', 'us-east-1', 3);
    const backoffs: number[] = [];
    const { lookup, calls } = fakeLookup(
      time,
      (region) => (region === 'eu-west-1' ? served : other),
      (_, call) => (call.region === 'eu-west-1' && call.token === 'p1' ? throttling(0) : undefined),
    );
    const activity = new CloudTrailActivity({
      lookup,
      regions: ['eu-west-1', 'us-east-1'],
      pacer: new Pacer({ now: time.clock, sleep: time.sleep }),
      sleep: (ms) => {
        backoffs.push(ms);
        return time.sleep(ms);
      },
      random: () => 0.999,
    });
    // Act
    const result = await time.run(activity.find(credentialsQuery));
    // Assess
    expect(backoffs.map(Math.round)).toEqual([500, 1000, 1999, 3998, 7996, 7996, 7996, 7996]);
    expect(Math.max(...backoffs)).toBeLessThanOrEqual(8000);
    expect(calls.filter((c) => c.region === 'eu-west-1').map((c) => c.token)).toEqual([
      undefined,
      ...Array(9).fill('p1'),
    ]);
    const [eu, us] = result.sources;
    expect(eu).toMatchObject({ name: `cloudtrail:${A}:eu-west-1`, calls: 10, events: 50 });
    expect(eu?.error).toMatch(/AccessKeyId=ASIAEXAMPLEKEY0001 page 2: still throttled after 8 retries/);
    expect(us).toEqual({
      name: `cloudtrail:${A}:us-east-1`,
      eventClasses: ['management'],
      calls: 3,
      events: 150,
    });
    const ids = new Set(result.events.map((e) => e.eventId));
    expect(ids).toEqual(new Set([...(served[0] ?? []), ...other.flat()].map((e) => e.EventId)));
  });

  it('reports a refused lookup at once, without retrying it', async () => {
    // Prepare
    const time = new VirtualTime();
    const denied = Object.assign(new Error('not authorized to perform: cloudtrail:LookupEvents'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    const { lookup, calls } = fakeLookup(
      time,
      () => manyPages('e', 'eu-west-1', 2),
      () => denied,
    );
    const activity = new CloudTrailActivity({
      lookup,
      regions: ['eu-west-1'],
      pacer: new Pacer({ now: time.clock, sleep: time.sleep }),
      sleep: time.sleep,
      maxRetries: 3,
    });
    // Act
    const result = await time.run(activity.find(inlineQuery));
    // Assess
    expect(calls).toHaveLength(1);
    expect(result.events).toEqual([]);
    expect(result.sources).toEqual([
      {
        name: `cloudtrail:${A}:eu-west-1`,
        eventClasses: ['management'],
        calls: 1,
        events: 0,
        error:
          'LookupEvents EventSource=s3.amazonaws.com page 1: AccessDeniedException: not authorized to perform: cloudtrail:LookupEvents',
      },
    ]);
  });

  it('finds a credentials grant by its access key, over the grant window, in every region', async () => {
    // Prepare
    const time = new VirtualTime();
    const { lookup, calls } = fakeLookup(time, (region) => manyPages(region, region, 1));
    const activity = new CloudTrailActivity({
      lookup,
      regions: ['eu-west-1', 'us-east-1'],
      pacer: new Pacer({ now: time.clock, sleep: time.sleep }),
    });
    // Act
    await time.run(activity.find(credentialsQuery));
    // Assess
    expect(calls.map((c) => [c.account, c.region, c.input])).toEqual([
      [
        A,
        'eu-west-1',
        {
          LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: KEY }],
          StartTime: new Date(START),
          EndTime: new Date(END),
          MaxResults: 50,
        },
      ],
      [
        A,
        'us-east-1',
        {
          LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: KEY }],
          StartTime: new Date(START),
          EndTime: new Date(END),
          MaxResults: 50,
        },
      ],
    ]);
  });

  it('finds an inline grant by the event source of each granted service, in every region', async () => {
    // Prepare
    const time = new VirtualTime();
    const { lookup, calls } = fakeLookup(time, (region, attribute) =>
      attribute === 's3.amazonaws.com' ? manyPages(`${region}-s3`, region, 2) : [],
    );
    const activity = new CloudTrailActivity({
      lookup,
      regions: ['eu-west-1', 'us-east-1'],
      pacer: new Pacer({ now: time.clock, sleep: time.sleep }),
    });
    // Act
    const result = await time.run(activity.find(inlineQuery));
    // Assess
    const asked = calls.map(
      (c) => `${c.region} ${c.input.LookupAttributes?.[0]?.AttributeKey}=${c.attribute} ${c.token}`,
    );
    expect(asked.sort()).toEqual([
      'eu-west-1 EventSource=dynamodb.amazonaws.com undefined',
      'eu-west-1 EventSource=s3.amazonaws.com p1',
      'eu-west-1 EventSource=s3.amazonaws.com undefined',
      'us-east-1 EventSource=dynamodb.amazonaws.com undefined',
      'us-east-1 EventSource=s3.amazonaws.com p1',
      'us-east-1 EventSource=s3.amazonaws.com undefined',
    ]);
    for (const c of calls) {
      expect(c.input).toMatchObject({ StartTime: new Date(START), EndTime: new Date(END), MaxResults: 50 });
      expect(c.input.LookupAttributes).toHaveLength(1);
    }
    expect(result.events).toHaveLength(200);
    expect(result.sources.map((s) => [s.name, s.calls, s.events])).toEqual([
      [`cloudtrail:${A}:eu-west-1`, 3, 100],
      [`cloudtrail:${A}:us-east-1`, 3, 100],
    ]);
  });

  it("keeps an inline grant's records to the target role's sessions", async () => {
    // Prepare
    const time = new VirtualTime();
    const callers: Record<string, string | undefined> = {
      mine: SESSION,
      mineOtherSession: `arn:aws:sts::${A}:assumed-role/app-reader/someone-else`,
      mineOtherCase: `arn:aws:sts::${A}:assumed-role/App-Reader/jit-req-0001`,
      otherRole: `arn:aws:sts::${A}:assumed-role/app-writer/jit-req-0001`,
      prefixRole: `arn:aws:sts::${A}:assumed-role/app-reader-2/jit-req-0001`,
      sameRoleOtherAccount: `arn:aws:sts::${OTHER}:assumed-role/app-reader/jit-req-0001`,
      otherPartition: `arn:aws-cn:sts::${A}:assumed-role/app-reader/jit-req-0001`,
      roleItself: ROLE,
      userOfSameName: `arn:aws:iam::${A}:user/app-reader`,
      noArn: undefined,
    };
    const page = Object.entries(callers).map(([id, arn]) => ({
      EventId: id,
      CloudTrailEvent: record(id, 'eu-west-1', { userIdentity: { type: 'AssumedRole', arn } }),
    }));
    const { lookup } = fakeLookup(time, (_, attribute) => (attribute === 's3.amazonaws.com' ? [page] : []));
    const activity = new CloudTrailActivity({
      lookup,
      regions: ['eu-west-1'],
      pacer: new Pacer({ now: time.clock, sleep: time.sleep }),
    });
    // Act
    const result = await time.run(activity.find(inlineQuery));
    // Assess
    expect(result.events.map((e) => e.eventId).sort()).toEqual(['mine', 'mineOtherCase', 'mineOtherSession']);
    expect(result.sources[0]).toMatchObject({ calls: 2, events: 10 });
  });

  it("keeps an inline grant's records to the target user", async () => {
    // Prepare
    const time = new VirtualTime();
    const user = `arn:aws:iam::${A}:user/ops/svc-batch`;
    const callers: Record<string, string> = {
      mine: user,
      sessionOfSameName: `arn:aws:sts::${A}:assumed-role/svc-batch/x`,
      otherUser: `arn:aws:iam::${A}:user/ops/svc-other`,
      sameUserOtherAccount: `arn:aws:iam::${OTHER}:user/ops/svc-batch`,
    };
    const page = Object.entries(callers).map(([id, arn]) => ({
      EventId: id,
      CloudTrailEvent: record(id, 'eu-west-1', { userIdentity: { type: 'IAMUser', arn } }),
    }));
    const { lookup } = fakeLookup(time, () => [page]);
    const activity = new CloudTrailActivity({
      lookup,
      regions: ['eu-west-1'],
      pacer: new Pacer({ now: time.clock, sleep: time.sleep }),
    });
    // Act
    const result = await time.run(
      activity.find({ ...inlineQuery, principalArn: user, eventSources: ['s3.amazonaws.com'] }),
    );
    // Assess
    expect(result.events.map((e) => e.eventId)).toEqual(['mine']);
  });

  it('does not filter a credentials grant by principal: its access key already names the session', async () => {
    // Prepare
    const time = new VirtualTime();
    const page = [
      {
        EventId: 'e1',
        CloudTrailEvent: record('e1', 'eu-west-1', { userIdentity: { type: 'AssumedRole', arn: 'x' } }),
      },
    ];
    const { lookup } = fakeLookup(time, () => [page]);
    const activity = new CloudTrailActivity({
      lookup,
      regions: ['eu-west-1'],
      pacer: new Pacer({ now: time.clock, sleep: time.sleep }),
    });
    // Act
    const result = await time.run(activity.find(credentialsQuery));
    // Assess
    expect(result.events.map((e) => e.eventId)).toEqual(['e1']);
  });

  it('skips records it cannot read, counts them and says the region is incomplete', async () => {
    // Prepare
    const time = new VirtualTime();
    const page: LookupEvent[] = [
      { EventId: 'good', CloudTrailEvent: record('good', 'eu-west-1') },
      { EventId: 'broken', CloudTrailEvent: '{"eventID": "broken", ' },
      { EventId: 'missing' },
      { EventId: 'array', CloudTrailEvent: '[1, 2]' },
    ];
    const { lookup } = fakeLookup(time, () => [page]);
    const activity = new CloudTrailActivity({
      lookup,
      regions: ['eu-west-1'],
      pacer: new Pacer({ now: time.clock, sleep: time.sleep }),
    });
    // Act
    const result = await time.run(activity.find(credentialsQuery));
    // Assess
    expect(result.events.map((e) => e.eventId)).toEqual(['good']);
    expect(result.sources).toEqual([
      {
        name: `cloudtrail:${A}:eu-west-1`,
        eventClasses: ['management'],
        calls: 1,
        events: 4,
        error: '3 record(s) could not be parsed and were skipped',
      },
    ]);
  });

  it('returns an empty result, and no report, when it reads no region', async () => {
    // Prepare
    const time = new VirtualTime();
    const { lookup, calls } = fakeLookup(time, () => []);
    const activity = new CloudTrailActivity({ lookup, regions: [] });
    // Act
    const result = await time.run(activity.find(credentialsQuery));
    // Assess
    expect(calls).toEqual([]);
    expect(result).toEqual({ events: [], sources: [] });
  });
});

describe('activityEventOf', () => {
  it('maps a real CloudTrail record: assumed-role session, source identity, AccessDenied, resources', () => {
    // Prepare
    const cloudTrailEvent = JSON.stringify({
      eventVersion: '1.09',
      userIdentity: {
        type: 'AssumedRole',
        principalId: 'AROAEXAMPLEROLEID0001:jit-req-0001',
        arn: SESSION,
        accountId: A,
        accessKeyId: KEY,
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: 'AROAEXAMPLEROLEID0001',
            arn: `arn:aws:iam::${A}:role/team/app-reader`,
            accountId: A,
            userName: 'app-reader',
          },
          attributes: { creationDate: '2026-12-01T10:00:03Z', mfaAuthenticated: 'false' },
          sourceIdentity: 'alice@example.com',
        },
      },
      eventTime: '2026-12-01T10:07:42Z',
      eventSource: 'dynamodb.amazonaws.com',
      eventName: 'DeleteTable',
      awsRegion: 'eu-west-1',
      sourceIPAddress: '203.0.113.7',
      userAgent: 'aws-cli/2.22.0 md/awscrt#0.23.4 ua/2.1 os/linux#6.8 md/arch#x86_64 lang/python#3.12.6',
      errorCode: 'AccessDenied',
      errorMessage: `User: ${SESSION} is not authorized to perform: dynamodb:DeleteTable on resource: arn:aws:dynamodb:eu-west-1:${A}:table/orders because no identity-based policy allows the dynamodb:DeleteTable action`,
      requestParameters: { tableName: 'orders' },
      responseElements: null,
      requestID: 'T9Q3S6C1H8R2N4M7P0K5J2L9V6B3X1Z8AEMVJF66Q9ASUAAJG',
      eventID: '4b9a2f3e-7c1d-4f8e-9a6b-2d5c8e1f0a3b',
      readOnly: false,
      resources: [
        { accountId: A, type: 'AWS::DynamoDB::Table', ARN: `arn:aws:dynamodb:eu-west-1:${A}:table/orders` },
      ],
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: A,
      eventCategory: 'Management',
      tlsDetails: {
        tlsVersion: 'TLSv1.3',
        cipherSuite: 'TLS_AES_128_GCM_SHA256',
        clientProvidedHostHeader: 'dynamodb.eu-west-1.amazonaws.com',
      },
    });
    // Act
    const event = activityEventOf({
      EventId: '4b9a2f3e-7c1d-4f8e-9a6b-2d5c8e1f0a3b',
      EventName: 'DeleteTable',
      ReadOnly: 'false',
      AccessKeyId: KEY,
      EventTime: new Date('2026-12-01T10:07:42Z'),
      EventSource: 'dynamodb.amazonaws.com',
      Username: 'jit-req-0001',
      Resources: [{ ResourceType: 'AWS::DynamoDB::Table', ResourceName: 'orders' }],
      CloudTrailEvent: cloudTrailEvent,
    });
    // Assess
    expect(event).toStrictEqual({
      eventId: '4b9a2f3e-7c1d-4f8e-9a6b-2d5c8e1f0a3b',
      eventTime: '2026-12-01T10:07:42Z',
      eventSource: 'dynamodb.amazonaws.com',
      eventName: 'DeleteTable',
      awsRegion: 'eu-west-1',
      recipientAccountId: A,
      eventCategory: 'Management',
      readOnly: false,
      userIdentity: {
        type: 'AssumedRole',
        arn: SESSION,
        principalId: 'AROAEXAMPLEROLEID0001:jit-req-0001',
        accessKeyId: KEY,
        sourceIdentity: 'alice@example.com',
      },
      sourceIPAddress: '203.0.113.7',
      userAgent: 'aws-cli/2.22.0 md/awscrt#0.23.4 ua/2.1 os/linux#6.8 md/arch#x86_64 lang/python#3.12.6',
      errorCode: 'AccessDenied',
      errorMessage: `User: ${SESSION} is not authorized to perform: dynamodb:DeleteTable on resource: arn:aws:dynamodb:eu-west-1:${A}:table/orders because no identity-based policy allows the dynamodb:DeleteTable action`,
      resources: [`arn:aws:dynamodb:eu-west-1:${A}:table/orders`],
    });
  });

  it("falls back to LookupEvents' own fields, keeping only the resource names that are ARNs", () => {
    // Act
    const event = activityEventOf({
      EventId: 'e-1',
      EventName: 'ListBuckets',
      EventSource: 's3.amazonaws.com',
      EventTime: new Date('2026-12-01T10:01:00Z'),
      ReadOnly: 'true',
      AccessKeyId: KEY,
      Resources: [
        { ResourceType: 'AWS::S3::Bucket', ResourceName: 'reports' },
        { ResourceType: 'AWS::S3::Bucket', ResourceName: 'arn:aws:s3:::reports' },
      ],
      CloudTrailEvent: JSON.stringify({ awsRegion: 'eu-west-1', eventCategory: 'Data', userIdentity: {} }),
    });
    // Assess
    expect(event).toMatchObject({
      eventId: 'e-1',
      eventTime: '2026-12-01T10:01:00.000Z',
      eventSource: 's3.amazonaws.com',
      eventName: 'ListBuckets',
      eventCategory: 'Data',
      readOnly: true,
      userIdentity: { accessKeyId: KEY },
      resources: ['arn:aws:s3:::reports'],
    });
    expect(event?.errorCode).toBeUndefined();
  });

  it('defaults the category to Management and reads no event from a record without an id', () => {
    // Act
    const plain = activityEventOf({
      CloudTrailEvent: record('e-2', 'eu-west-1', { eventCategory: undefined }),
    });
    const anonymous = activityEventOf({ CloudTrailEvent: JSON.stringify({ eventName: 'GetObject' }) });
    // Assess
    expect(plain?.eventCategory).toBe('Management');
    expect(anonymous).toBeUndefined();
  });
});

describe('sdkLookup', () => {
  const cloudTrail = mockClient(CloudTrailClient);

  afterEach(() => {
    cloudTrail.reset();
  });

  it("sends LookupEvents on the account's client for the region, page after page", async () => {
    // Prepare
    cloudTrail.on(LookupEventsCommand).resolves({
      Events: [{ EventId: 'a', CloudTrailEvent: record('a', 'eu-west-1') }],
      NextToken: 't2',
    });
    cloudTrail
      .on(LookupEventsCommand, { NextToken: 't2' })
      .rejectsOnce(new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }))
      .resolves({ Events: [{ EventId: 'b', CloudTrailEvent: record('b', 'eu-west-1') }] });
    const asked: string[] = [];
    const time = new VirtualTime();
    const activity = new CloudTrailActivity({
      lookup: sdkLookup(async (account, region) => {
        asked.push(`${account}:${region}`);
        return new CloudTrailClient({ region, maxAttempts: 1 });
      }),
      regions: ['eu-west-1'],
      pacer: new Pacer({ now: time.clock, sleep: time.sleep }),
      sleep: time.sleep,
    });
    // Act
    const result = await time.run(activity.find(credentialsQuery));
    // Assess
    expect(result.events.map((e) => e.eventId)).toEqual(['a', 'b']);
    expect(result.sources[0]).toMatchObject({ calls: 3, events: 2 });
    expect(result.sources[0]?.error).toBeUndefined();
    expect(asked).toEqual([`${A}:eu-west-1`, `${A}:eu-west-1`, `${A}:eu-west-1`]);
    expect(cloudTrail).toHaveReceivedCommandTimes(LookupEventsCommand, 3);
    expect(cloudTrail).toHaveReceivedNthCommandWith(LookupEventsCommand, 1, {
      LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: KEY }],
      StartTime: new Date(START),
      EndTime: new Date(END),
      MaxResults: 50,
    });
    expect(cloudTrail).toHaveReceivedNthCommandWith(LookupEventsCommand, 3, { NextToken: 't2' });
  });
});
