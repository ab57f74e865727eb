import type { LookupEventsCommandInput } from '@aws-sdk/client-cloudtrail';
import { describe, expect, it } from 'vitest';
import { CloudTrailActivity } from '#adapters/cloudtrail-activity.ts';
import { Pacer } from '#adapters/pacer.ts';
import {
  type CloudTrailRecord,
  CloudTrailRecordError,
  LocalCloudTrail,
} from '../../../local/fakes/cloudtrail.ts';

const ACCOUNT = '111122223333';
const OTHER = '444455556666';
const REGION = 'eu-west-1';
const NOW = Date.parse('2025-06-01T12:00:00Z');
const SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/app-reader/jit-r1`;

/** A clock the test moves by hand. */
function clock(start = NOW) {
  let ms = start;
  return {
    now: () => new Date(ms),
    advance: (by: number) => {
      ms += by;
    },
  };
}

/** A CloudTrail record of the role session `jit-r1`, `n` seconds before NOW, with eventID `ev-<n>`. */
function record(
  n: number,
  overrides: Partial<Record<keyof CloudTrailRecord, unknown>> = {},
): CloudTrailRecord {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLE:jit-r1',
      arn: SESSION,
      accountId: ACCOUNT,
      accessKeyId: 'ASIAEXAMPLE1',
      sessionContext: {
        sourceIdentity: 'alice',
        sessionIssuer: {
          type: 'Role',
          arn: `arn:aws:iam::${ACCOUNT}:role/app-reader`,
          userName: 'app-reader',
        },
      },
    },
    eventTime: new Date(NOW - n * 1000).toISOString().replace('.000Z', 'Z'),
    eventSource: 's3.amazonaws.com',
    eventName: 'ListBucket',
    awsRegion: REGION,
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2',
    requestParameters: { bucketName: 'app-data' },
    eventID: `ev-${String(n).padStart(4, '0')}`,
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
    resources: [{ ARN: 'arn:aws:s3:::app-data', accountId: ACCOUNT, type: 'AWS::S3::Bucket' }],
    ...overrides,
  } as CloudTrailRecord;
}

/** Every page of a query, moving the clock a second between calls (so the rate limit never bites). */
async function allPages(
  trail: LocalCloudTrail,
  time: ReturnType<typeof clock>,
  input: LookupEventsCommandInput,
  region = REGION,
): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    time.advance(1000);
    const out = await trail.lookup(ACCOUNT, region, { ...input, ...(token ? { NextToken: token } : {}) });
    ids.push(...(out.Events ?? []).map((e) => e.EventId ?? ''));
    token = out.NextToken;
  } while (token);
  return ids;
}

describe('LocalCloudTrail.inject', () => {
  it.each([
    ['eventTime', { eventTime: '2025-06-01 12:00:00' }],
    ['eventTime', { eventTime: '2025-13-45T99:00:00Z' }],
    ['eventID', { eventID: '' }],
    ['eventSource', { eventSource: 'not a host' }],
    ['eventName', { eventName: undefined }],
    ['recipientAccountId', { recipientAccountId: '1234' }],
    ['awsRegion', { awsRegion: 'Europe' }],
    ['eventCategory', { eventCategory: 'Insight' }],
    ['userIdentity', { userIdentity: 'alice' }],
    ['resources', { resources: {} }],
  ])('refuses a record with a bad %s, naming the field, and stores nothing', (field, overrides) => {
    // Prepare
    const trail = new LocalCloudTrail({ now: clock().now });
    // Act
    const act = () => trail.inject([record(1), record(2, overrides)]);
    // Assess
    expect(act).toThrow(CloudTrailRecordError);
    expect(act).toThrow(`events[1].${field}`);
    try {
      act();
    } catch (error) {
      expect((error as CloudTrailRecordError).field).toBe(`events[1].${field}`);
    }
    expect(trail.records()).toEqual([]);
  });

  it('refuses something that is not a record', () => {
    // Prepare
    const trail = new LocalCloudTrail();
    // Act
    const act = () => trail.inject(['GetObject']);
    // Assess
    expect(act).toThrow('events[0]: must be a CloudTrail record');
  });

  it('ignores a record whose eventID is already stored, and returns the new ones only', () => {
    // Prepare
    const trail = new LocalCloudTrail({ now: clock().now });
    trail.inject([record(1)]);
    // Act
    const added = trail.inject([record(1, { eventName: 'GetBucketPolicy' }), record(2)]);
    // Assess
    expect(added.map((r) => r.eventID)).toEqual(['ev-0002']);
    expect(trail.records().map((r) => [r.eventID, r.eventName])).toEqual([
      ['ev-0001', 'ListBucket'],
      ['ev-0002', 'ListBucket'],
    ]);
  });

  it('stores records per account and region, and lists one account', async () => {
    // Prepare
    const time = clock();
    const trail = new LocalCloudTrail({ now: time.now });
    // Act
    trail.inject([
      record(1),
      record(2, { awsRegion: 'us-east-1' }),
      record(3, { recipientAccountId: OTHER }),
    ]);
    // Assess
    expect((await trail.lookup(ACCOUNT, REGION, {})).Events?.map((e) => e.EventId)).toEqual(['ev-0001']);
    expect((await trail.lookup(ACCOUNT, 'us-east-1', {})).Events?.map((e) => e.EventId)).toEqual(['ev-0002']);
    expect((await trail.lookup(OTHER, REGION, {})).Events?.map((e) => e.EventId)).toEqual(['ev-0003']);
    expect(trail.records(ACCOUNT).map((r) => r.eventID)).toEqual(['ev-0001', 'ev-0002']);
    expect(trail.records()).toHaveLength(3);
  });
});

describe('LocalCloudTrail.lookup', () => {
  it('answers newest first, each result in LookupEvents shape with the record as JSON text', async () => {
    // Prepare
    const trail = new LocalCloudTrail({ now: clock().now });
    trail.inject([record(30), record(10), record(20)]);
    // Act
    const out = await trail.lookup(ACCOUNT, REGION, {});
    // Assess
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.NextToken).toBeUndefined();
    expect(out.Events?.map((e) => e.EventId)).toEqual(['ev-0010', 'ev-0020', 'ev-0030']);
    expect(out.Events?.[0]).toEqual({
      EventId: 'ev-0010',
      EventName: 'ListBucket',
      ReadOnly: 'true',
      AccessKeyId: 'ASIAEXAMPLE1',
      EventTime: new Date(NOW - 10_000),
      EventSource: 's3.amazonaws.com',
      Username: 'jit-r1',
      Resources: [{ ResourceType: 'AWS::S3::Bucket', ResourceName: 'arn:aws:s3:::app-data' }],
      CloudTrailEvent: JSON.stringify(record(10)),
    });
  });

  it('names IAM users and the root user as LookupEvents does', async () => {
    // Prepare
    const trail = new LocalCloudTrail({ now: clock().now });
    trail.inject([
      record(1, {
        userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/ops/bob`, userName: 'bob' },
      }),
      record(2, { userIdentity: { type: 'Root', arn: `arn:aws:iam::${ACCOUNT}:root` } }),
      record(3, { userIdentity: { type: 'AWSService', invokedBy: 'lambda.amazonaws.com' } }),
    ]);
    // Act
    const out = await trail.lookup(ACCOUNT, REGION, {});
    // Assess
    expect(out.Events?.map((e) => e.Username)).toEqual(['bob', 'root', undefined]);
  });

  it('refuses more than one lookup attribute', async () => {
    // Prepare
    const trail = new LocalCloudTrail({ now: clock().now });
    // Act
    const out = trail.lookup(ACCOUNT, REGION, {
      LookupAttributes: [
        { AttributeKey: 'EventSource', AttributeValue: 's3.amazonaws.com' },
        { AttributeKey: 'Username', AttributeValue: 'jit-r1' },
      ],
    });
    // Assess
    await expect(out).rejects.toMatchObject({
      name: 'InvalidLookupAttributesException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(out).rejects.toBeInstanceOf(Error);
  });

  it('refuses an unknown attribute key or an empty value', async () => {
    // Prepare
    const trail = new LocalCloudTrail({ now: clock().now });
    // Act
    const unknown = trail.lookup(ACCOUNT, REGION, {
      LookupAttributes: [{ AttributeKey: 'UserArn' as never, AttributeValue: SESSION }],
    });
    const empty = trail.lookup(ACCOUNT, REGION, {
      LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: '' }],
    });
    // Assess
    await expect(unknown).rejects.toMatchObject({ name: 'InvalidLookupAttributesException' });
    await expect(empty).rejects.toMatchObject({ name: 'InvalidLookupAttributesException' });
  });

  it.each([
    ['EventId', 'ev-0002', ['ev-0002']],
    ['EventName', 'PutObjectAcl', ['ev-0003']],
    ['ReadOnly', 'false', ['ev-0003']],
    ['Username', 'jit-r2', ['ev-0002']],
    ['ResourceType', 'AWS::S3::Object', ['ev-0003']],
    ['ResourceName', 'arn:aws:s3:::app-data', ['ev-0001', 'ev-0002']],
    ['EventSource', 'logs.amazonaws.com', ['ev-0002']],
    ['AccessKeyId', 'ASIAEXAMPLE2', ['ev-0002']],
  ] as const)('finds records by %s', async (key, value, expected) => {
    // Prepare
    const time = clock();
    const trail = new LocalCloudTrail({ now: time.now });
    const other = `arn:aws:sts::${ACCOUNT}:assumed-role/app-reader/jit-r2`;
    trail.inject([
      record(1),
      record(2, {
        eventSource: 'logs.amazonaws.com',
        userIdentity: { type: 'AssumedRole', arn: other, accessKeyId: 'ASIAEXAMPLE2' },
      }),
      record(3, {
        eventName: 'PutObjectAcl',
        readOnly: false,
        resources: [{ ARN: 'arn:aws:s3:::app-data/a.txt', type: 'AWS::S3::Object' }],
      }),
    ]);
    // Act
    const out = await trail.lookup(ACCOUNT, REGION, {
      LookupAttributes: [{ AttributeKey: key, AttributeValue: value }],
    });
    // Assess
    expect(out.Events?.map((e) => e.EventId)).toEqual(expected);
  });

  it('pages 50 results by default and refuses MaxResults outside 1-50', async () => {
    // Prepare
    const time = clock();
    const trail = new LocalCloudTrail({ now: time.now });
    trail.inject(Array.from({ length: 60 }, (_, i) => record(i + 1)));
    // Act
    const first = await trail.lookup(ACCOUNT, REGION, {});
    time.advance(1000);
    const one = await trail.lookup(ACCOUNT, REGION, { MaxResults: 1 });
    // Assess
    expect(first.Events).toHaveLength(50);
    expect(first.NextToken).toBeDefined();
    expect(one.Events).toHaveLength(1);
    for (const bad of [0, 51, 2.5]) {
      time.advance(1000);
      await expect(trail.lookup(ACCOUNT, REGION, { MaxResults: bad })).rejects.toMatchObject({
        name: 'InvalidMaxResultsException',
      });
    }
  });

  it('includes both StartTime and EndTime, and refuses a start after the end', async () => {
    // Prepare
    const time = clock();
    const trail = new LocalCloudTrail({ now: time.now });
    trail.inject([record(10), record(20), record(30), record(40)]);
    // Act
    const out = await trail.lookup(ACCOUNT, REGION, {
      StartTime: new Date(NOW - 30_000),
      EndTime: new Date(NOW - 20_000),
    });
    time.advance(1000);
    const reversed = trail.lookup(ACCOUNT, REGION, {
      StartTime: new Date(NOW - 10_000),
      EndTime: new Date(NOW - 20_000),
    });
    // Assess
    expect(out.Events?.map((e) => e.EventId)).toEqual(['ev-0020', 'ev-0030']);
    await expect(reversed).rejects.toMatchObject({ name: 'InvalidTimeRangeException' });
  });

  it('pages through every result once, newest first, even when newer records arrive between pages', async () => {
    // Prepare
    const time = clock();
    const trail = new LocalCloudTrail({ now: time.now });
    // Several records in the same second: the order among them must still be stable.
    trail.inject(Array.from({ length: 23 }, (_, i) => record(Math.floor(i / 4) + 10, { eventID: `e-${i}` })));
    const input = { MaxResults: 5 };
    // Act
    const first = await trail.lookup(ACCOUNT, REGION, input);
    trail.inject([record(1, { eventID: 'newer' })]);
    time.advance(1000);
    const rest = await allPages(trail, time, { ...input, NextToken: first.NextToken as string });
    // Assess
    const ids = [...(first.Events ?? []).map((e) => e.EventId), ...rest];
    expect(ids).toHaveLength(23);
    expect(new Set(ids).size).toBe(23);
    expect(ids).not.toContain('newer');
    const times = ids.map((id) => trail.records().find((r) => r.eventID === id)?.eventTime ?? '');
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('refuses a NextToken with another query, another region, or tampered with', async () => {
    // Prepare
    const time = clock();
    const trail = new LocalCloudTrail({ now: time.now });
    trail.inject(Array.from({ length: 5 }, (_, i) => record(i + 1)));
    trail.inject(Array.from({ length: 5 }, (_, i) => record(i + 1, { awsRegion: 'us-east-1' })));
    const source = {
      LookupAttributes: [{ AttributeKey: 'EventSource' as const, AttributeValue: 's3.amazonaws.com' }],
    };
    const { NextToken } = await trail.lookup(ACCOUNT, REGION, { ...source, MaxResults: 2 });
    const token = NextToken as string;
    const attempts: LookupEventsCommandInput[] = [
      { NextToken: token, MaxResults: 2 },
      { ...source, StartTime: new Date(NOW - 3000), NextToken: token },
      { ...source, NextToken: `x${token}` },
      { ...source, NextToken: 'not-a-token' },
    ];
    // Act / Assess
    for (const attempt of attempts) {
      time.advance(1000);
      await expect(trail.lookup(ACCOUNT, REGION, attempt)).rejects.toMatchObject({
        name: 'InvalidNextTokenException',
      });
    }
    time.advance(1000);
    await expect(trail.lookup(ACCOUNT, 'us-east-1', { ...source, NextToken: token })).rejects.toMatchObject({
      name: 'InvalidNextTokenException',
    });
    time.advance(1000);
    // The same query with another page size is the same query.
    const next = await trail.lookup(ACCOUNT, REGION, { ...source, MaxResults: 3, NextToken: token });
    expect(next.Events?.map((e) => e.EventId)).toEqual(['ev-0003', 'ev-0004', 'ev-0005']);
  });

  it('never returns data events', async () => {
    // Prepare
    const trail = new LocalCloudTrail({ now: clock().now });
    trail.inject([
      record(1, { eventName: 'GetObject', eventCategory: 'Data', managementEvent: false }),
      record(2, { eventCategory: undefined }),
      record(3),
    ]);
    // Act
    const out = await trail.lookup(ACCOUNT, REGION, {});
    // Assess
    expect(out.Events?.map((e) => e.EventId)).toEqual(['ev-0002', 'ev-0003']);
    expect(trail.records()).toHaveLength(3);
  });

  it('returns nothing older than 90 days, and no Insights events', async () => {
    // Prepare
    const time = clock();
    const trail = new LocalCloudTrail({ now: time.now });
    const day = 86_400;
    trail.inject([record(89 * day, { eventID: 'recent' }), record(91 * day, { eventID: 'expired' })]);
    // Act
    const out = await trail.lookup(ACCOUNT, REGION, { StartTime: new Date(NOW - 100 * day * 1000) });
    time.advance(1000);
    const insights = await trail.lookup(ACCOUNT, REGION, { EventCategory: 'insight' });
    time.advance(2 * day * 1000);
    const later = await trail.lookup(ACCOUNT, REGION, {});
    // Assess
    expect(out.Events?.map((e) => e.EventId)).toEqual(['recent']);
    expect(insights.Events).toEqual([]);
    expect(later.Events).toEqual([]);
  });

  it('throttles a third call within one second on the same account and region, and counts every call', async () => {
    // Prepare
    const time = clock();
    const trail = new LocalCloudTrail({ now: time.now });
    // Act
    await trail.lookup(ACCOUNT, REGION, {});
    time.advance(400);
    await trail.lookup(ACCOUNT, REGION, {});
    time.advance(400);
    const third = trail.lookup(ACCOUNT, REGION, {});
    const otherRegion = trail.lookup(ACCOUNT, 'us-east-1', {});
    const otherAccount = trail.lookup(OTHER, REGION, {});
    // Assess
    await expect(third).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(third).rejects.toBeInstanceOf(Error);
    await expect(otherRegion).resolves.toBeDefined();
    await expect(otherAccount).resolves.toBeDefined();
    // The window slides: 1 s after the first call there is room for one, not two.
    time.advance(200);
    await expect(trail.lookup(ACCOUNT, REGION, {})).resolves.toBeDefined();
    await expect(trail.lookup(ACCOUNT, REGION, {})).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(trail.calls(ACCOUNT, REGION)).toBe(5);
    expect(trail.throttled(ACCOUNT, REGION)).toBe(2);
    expect(trail.calls(ACCOUNT, 'us-east-1')).toBe(1);
    expect(trail.calls(OTHER, 'ap-south-1')).toBe(0);
  });

  it('serves the CloudTrail adapter unchanged, paced under the rate limit', async () => {
    // Prepare
    let ms = NOW;
    const now = () => new Date(ms);
    const sleep = async (wait: number) => {
      ms += Math.max(wait, 0);
    };
    const trail = new LocalCloudTrail({ now });
    trail.inject(Array.from({ length: 120 }, (_, i) => record(i + 1)));
    trail.inject([record(500, { userIdentity: { type: 'AssumedRole', accessKeyId: 'ASIAOTHER' } })]);
    const activity = new CloudTrailActivity({
      lookup: trail.lookup,
      regions: [REGION, 'us-east-1'],
      pacer: new Pacer({ now: () => ms, sleep }),
      sleep,
    });
    // Act
    const result = await activity.find({
      requestId: 'r1',
      account: ACCOUNT,
      start: new Date(NOW - 3600_000).toISOString(),
      end: new Date(NOW).toISOString(),
      principalArn: `arn:aws:iam::${ACCOUNT}:role/app-reader`,
      accessKeyId: 'ASIAEXAMPLE1',
      sessionName: 'jit-r1',
      eventSources: ['s3.amazonaws.com'],
    });
    // Assess
    expect(result.events).toHaveLength(120);
    expect(result.sources.map((s) => [s.name, s.calls, s.events, s.error])).toEqual([
      [`cloudtrail:${ACCOUNT}:${REGION}`, 3, 120, undefined],
      [`cloudtrail:${ACCOUNT}:us-east-1`, 1, 0, undefined],
    ]);
    expect(trail.throttled(ACCOUNT, REGION)).toBe(0);
  });
});
