import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalBroker } from '../../local/runtime.ts';
import { ACCOUNT, arn, call, DEV, e2eConfig, startBroker, stored, submit, waitForStatus } from './harness.ts';

const ROLE = 'jit-release-prod';

/** A management event in ACCOUNT / us-east-1, `secondsAgo` before now, by `identity`. */
function record(id: string, secondsAgo: number, identity: Record<string, unknown> = {}) {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/app-reader/someone`,
      accountId: ACCOUNT,
      ...identity,
    },
    eventTime: new Date(Date.now() - secondsAgo * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 's3.amazonaws.com',
    eventName: 'ListBucket',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2',
    requestParameters: { bucketName: 'release-artifacts' },
    eventID: id,
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  };
}

describe('local runtime: POST /_local/cloudtrail', () => {
  let broker: LocalBroker;

  beforeAll(async () => {
    const config = e2eConfig();
    broker = await startBroker({
      ...config,
      rules: [
        ...config.rules,
        {
          id: 'release',
          kind: 'credentials',
          requesters: [DEV('*')],
          targets: [arn.role('jit-release-*')],
          actions: ['s3:ListBucket'],
          resources: ['arn:aws:s3:::release-artifacts'],
          maxDurationSeconds: 3600,
          approval: 'auto',
        },
      ],
    });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('injects records once each and lists them by account', async () => {
    // Prepare
    const body = { events: [record('list-1', 60), record('list-2', 30)] };
    // Act
    const first = await call(broker, undefined, 'POST', '/_local/cloudtrail', body);
    const again = await call(broker, undefined, 'POST', '/_local/cloudtrail', body);
    const listed = await call<{ events: { eventID: string }[] }>(
      broker,
      undefined,
      'GET',
      `/_local/cloudtrail?account=${ACCOUNT}`,
    );
    const other = await call(broker, undefined, 'GET', '/_local/cloudtrail?account=444455556666');
    // Assess
    expect(first).toEqual({ status: 200, body: { injected: 2 } });
    expect(again).toEqual({ status: 200, body: { injected: 0 } });
    expect(listed.body.events.map((e) => e.eventID)).toEqual(expect.arrayContaining(['list-2', 'list-1']));
    expect(other.body).toEqual({ events: [] });
  });

  it('refuses a bad record with the field at fault, and stores none of the batch', async () => {
    // Prepare
    const body = { events: [record('bad-1', 10), { ...record('bad-2', 10), recipientAccountId: '1234' }] };
    // Act
    const reply = await call<{ error: { code: string; details: { field: string }[] } }>(
      broker,
      undefined,
      'POST',
      '/_local/cloudtrail',
      body,
    );
    // Assess
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('InvalidRequest');
    expect(reply.body.error.details).toEqual([
      { field: 'events[1].recipientAccountId', message: 'must be a 12-digit account id' },
    ]);
    expect(broker.cloudtrail.records().map((r) => r.eventID)).not.toContain('bad-1');
  });

  it('refuses more than 1,000 records, a body without events, and a body that is not JSON', async () => {
    // Prepare
    const many = { events: Array.from({ length: 1001 }, (_, i) => record(`many-${i}`, 5)) };
    // Act
    const tooMany = await call<{ error: { details: { field: string }[] } }>(
      broker,
      undefined,
      'POST',
      '/_local/cloudtrail',
      many,
    );
    const noEvents = await call<{ error: { details: { field: string }[] } }>(
      broker,
      undefined,
      'POST',
      '/_local/cloudtrail',
      { records: [] },
    );
    const notJson = await fetch(`${broker.url}/_local/cloudtrail`, { method: 'POST', body: '{"events":' });
    // Assess
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.details[0]?.field).toBe('events');
    expect(noEvents.status).toBe(400);
    expect(noEvents.body.error.details[0]?.field).toBe('records');
    expect(notJson.status).toBe(400);
    expect(
      ((await notJson.json()) as { error: { details: { field: string }[] } }).error.details[0]?.field,
    ).toBe('body');
  });

  it("notes a credentials grant's first use from its session's earliest record, and the review source finds them", async () => {
    // Prepare
    const id = await submit(broker, DEV('alice'), {
      kind: 'credentials',
      target: arn.role(ROLE),
      permissions: [{ actions: ['s3:ListBucket'], resources: ['arn:aws:s3:::release-artifacts'] }],
      durationSeconds: 600,
      reason: 'list the release bucket',
      ticket: 'REL-1',
    });
    const granted = await waitForStatus(broker, id, 'GRANTED');
    const session = broker.sts.sessions.find((s) => s.arn.endsWith(`/jit-${id}`));
    if (!session || !granted.session) throw new Error('no session issued');
    const identity = {
      arn: session.arn,
      principalId: session.userId,
      accessKeyId: session.accessKeyId,
      sessionContext: { sourceIdentity: session.sourceIdentity },
    };
    // Newest first in the batch, as a reader of LookupEvents would paste them.
    const events = [record(`use-${id}-2`, 2, identity), record(`use-${id}-1`, 4, identity)];
    // Act
    const reply = await call(broker, undefined, 'POST', '/_local/cloudtrail', { events });
    const found = await broker.deps.activity?.find({
      requestId: id,
      account: ACCOUNT,
      start: new Date(Date.now() - 60_000).toISOString(),
      end: new Date(Date.now() + 60_000).toISOString(),
      principalArn: arn.role(ROLE),
      accessKeyId: session.accessKeyId,
      sessionName: `jit-${id}`,
      eventSources: ['s3.amazonaws.com'],
    });
    // Assess
    expect(reply).toEqual({ status: 200, body: { injected: 2 } });
    const after = await stored(broker, id);
    expect(after.firstUsedAt).toBe(events[1]?.eventTime);
    expect(after.firstUsedFrom).toBe('198.51.100.7');
    expect(found?.events.map((e) => e.eventId)).toEqual([`use-${id}-1`, `use-${id}-2`]);
    expect(found?.sources.map((s) => s.error)).toEqual([undefined]);
  });
});
