import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityReview } from '#core/audit/review-report.ts';
import type { LocalBroker } from '../../local/runtime.ts';
import { ACCOUNT, arn, call, DEV, e2eConfig, startBroker, stored, submit, waitForStatus } from './harness.ts';

const AUDITOR = arn.assumed('Auditor', 'ines');
const ROLE = 'ops-audit';

/** A CloudTrail record of `logs:GetLogEvents` in ACCOUNT, at `at`, by the session `session` of `role`. */
function logsCall(id: string, at: Date, opts: { role?: string; account?: string; error?: string } = {}) {
  const account = opts.account ?? ACCOUNT;
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLE:${id}-session`,
      arn: `arn:aws:sts::${account}:assumed-role/${opts.role ?? ROLE}/oncall`,
      accountId: account,
      accessKeyId: 'ASIAEXAMPLEOTHER',
    },
    eventTime: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'logs.amazonaws.com',
    eventName: 'GetLogEvents',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.7',
    userAgent: 'aws-cli/2.17',
    requestParameters: { logGroupName: '/app/api' },
    eventID: id,
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
    resources: [{ ARN: `arn:aws:logs:us-east-1:${account}:log-group:/app/api`, accountId: account }],
    ...(opts.error ? { errorCode: opts.error, errorMessage: 'not authorized' } : {}),
  };
}

describe('audit review on the local runtime', () => {
  let broker: LocalBroker;

  beforeAll(async () => {
    broker = await startBroker(e2eConfig({ audit: { auditors: [AUDITOR], deliveryDelaySeconds: 1 } }));
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('reviews an inline grant: provisional on demand, final after the scheduled pass, first use noted once', async () => {
    // Prepare: an auto-approved inline grant on the ops role, used twice in its window
    const id = await submit(broker, DEV('dana'), {
      target: arn.role(ROLE),
      permissions: [
        { actions: ['logs:GetLogEvents'], resources: [`arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/app/*`] },
      ],
      durationSeconds: 60,
      reason: 'e2e: read the API logs',
    });
    await waitForStatus(broker, id, 'GRANTED');
    const grantedAt = Date.parse(
      (await broker.deps.store.events(id)).find((e) => e.to === 'GRANTED')?.at ?? '',
    );
    const inside = (s: number) => new Date(grantedAt + s * 1000);
    const injected = await call(broker, undefined, 'POST', '/_local/cloudtrail', {
      events: [
        logsCall('before', new Date(grantedAt - 60_000)),
        logsCall('use-1', inside(1)),
        logsCall('use-2', inside(2)),
        logsCall('other-role', inside(1), { role: 'ops-other' }),
        logsCall('other-account', inside(1), { account: '444455556666' }),
      ],
    });
    expect(injected.status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500));
    await call(broker, DEV('dana'), 'POST', `/requests/${id}/revoke`, { reason: 'done' });
    await waitForStatus(broker, id, 'REVOKED');
    // Act: on demand as the requester, as the auditor, as a stranger
    const provisional = await call<ActivityReview>(broker, DEV('dana'), 'GET', `/requests/${id}/review`);
    const byAuditor = await call<ActivityReview>(broker, AUDITOR, 'GET', `/requests/${id}/review`);
    const stranger = await call(broker, DEV('eve'), 'GET', `/requests/${id}/review`);
    // Assess
    expect(provisional.status).toBe(200);
    expect(provisional.body.provisional).toBe(true);
    expect(provisional.body.calls.map((c) => c.eventId).sort()).toEqual(['use-1', 'use-2']);
    expect(provisional.body.used).toEqual([
      expect.objectContaining({ action: 'logs:GetLogEvents', calls: 2, sourceIps: ['203.0.113.7'] }),
    ]);
    expect(provisional.body.unused).toEqual({ actions: [], share: 0 });
    expect(provisional.body.visibility.eventClasses).toEqual(['management']);
    expect(byAuditor.status).toBe(200);
    expect(stranger.status).toBe(403);

    // Act: the review function's schedule, once CloudTrail's delivery delay (1 s here) has passed
    await new Promise((r) => setTimeout(r, 1200));
    const run = await broker.followUps();
    const final = await call<ActivityReview>(broker, AUDITOR, 'GET', `/requests/${id}/review`);
    const events = await broker.deps.store.events(id);
    // Assess: pass 1 stored, its hash in the chain, the first use found by the review, noted once
    expect(run.outcomes).toEqual(
      expect.arrayContaining([expect.objectContaining({ requestId: id, reviewed: 1 })]),
    );
    expect(final.body).toMatchObject({ provisional: false, pass: 1 });
    const reviewed = events.filter((e) => e.details?.event === 'REVIEWED');
    expect(reviewed).toHaveLength(1);
    expect(reviewed[0]?.details?.hash).toBe(final.body.hash);
    expect(events.filter((e) => e.details?.event === 'FIRST_USED')).toHaveLength(1);
    expect((await stored(broker, id)).firstUsedAt).toBe(
      inside(1)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
    );
    const integrity = await call<{ integrity: { ok: boolean } }>(broker, AUDITOR, 'GET', `/requests/${id}`);
    expect(integrity.body.integrity.ok).toBe(true);
  });

  it("lets an auditor list every requester's requests with a filter; anyone else only their own", async () => {
    // Prepare
    const since = new Date(Date.now() - 1000).toISOString();
    const mine = await submit(broker, DEV('fay'), {
      target: arn.role('ops-list'),
      permissions: [
        { actions: ['logs:GetLogEvents'], resources: [`arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/app/*`] },
      ],
      durationSeconds: 1,
      reason: 'e2e: listing',
    });
    const theirs = await submit(broker, DEV('gus'), {
      target: arn.role('ops-list'),
      permissions: [
        { actions: ['logs:GetLogEvents'], resources: [`arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/app/*`] },
      ],
      durationSeconds: 1,
      reason: 'e2e: listing',
    });
    // Act
    const q = `/requests?since=${encodeURIComponent(since)}&rule=logs-auto`;
    const auditor = await call<{ requests: { id: string }[] }>(broker, AUDITOR, 'GET', q);
    const fay = await call<{ requests: { id: string }[] }>(broker, DEV('fay'), 'GET', q);
    const bad = await call<{ error: { details: { field: string }[] } }>(
      broker,
      AUDITOR,
      'GET',
      '/requests?since=yesterday',
    );
    // Assess
    expect(auditor.body.requests.map((r) => r.id)).toEqual(expect.arrayContaining([mine, theirs]));
    expect(fay.body.requests.map((r) => r.id)).toEqual([mine]);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0]?.field).toBe('since');
  });

  it('answers 409 for the review of a request that was never granted', async () => {
    // Prepare: an approval-required request nobody approves
    const id = await submit(broker, DEV('hal'), {
      target: arn.role('app-reader'),
      permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/x'] }],
      durationSeconds: 3,
      reason: 'e2e: never granted',
    });
    await waitForStatus(broker, id, 'PENDING_APPROVAL');
    // Act
    const reply = await call<{ error: { code: string } }>(
      broker,
      DEV('hal'),
      'GET',
      `/requests/${id}/review`,
    );
    // Assess
    expect(reply.status).toBe(409);
    expect(reply.body.error.code).toBe('NotGranted');
  });
});
