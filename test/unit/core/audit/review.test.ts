import { describe, expect, it } from 'vitest';
import type { ActivityEvent, SourceReport } from '#core/audit/activity.ts';
import {
  activityQuery,
  buildReview,
  hashReview,
  REVIEW_USED_LIMIT,
  reviewPassTimes,
  reviewWindow,
  usableUntilOf,
} from '#core/audit/review.ts';
import { type ActivityReview, REVIEW_CALLS_LIMIT } from '#core/audit/review-report.ts';
import type { AccessRequest } from '#core/model.ts';
import { ACCOUNT, arn, fakeDeps, pendingRequest } from '../../../support/fakes.ts';
import {
  APP_READER_ID,
  ATHENA,
  BUCKET,
  buildReviewFixture,
  expectedIds,
  type GrantName,
  LOOKUP,
  NOTES,
  Q3,
  Q4,
  RELEASE,
  record,
  reviewConfig,
  SHA,
  scoreMatching,
  TABLE,
  ZIP,
} from './review-fixture.ts';

const fixture = await buildReviewFixture();
const allRecords = fixture.records.map((r) => r.event);

/** The review of one fixture grant over the given records and sources. */
function reviewOf(
  grant: GrantName,
  options: { events?: readonly ActivityEvent[]; sources?: readonly SourceReport[]; pass?: 0 | 1 | 2 } = {},
) {
  const { request, events, window } = fixture[grant];
  return buildReview({
    request,
    events,
    window,
    activity: { events: options.events ?? allRecords, sources: options.sources ?? [LOOKUP] },
    now: new Date('2026-11-22T10:31:00Z'),
    pass: options.pass ?? 0,
  });
}

/** Precision and recall of the review's matched records (calls and refusals) against the labels. */
function scoreOf(grant: GrantName) {
  const review = reviewOf(grant);
  const matched = new Set([...review.calls.map((c) => c.eventId), ...review.refused.map((r) => r.eventId)]);
  return scoreMatching(matched, expectedIds(fixture, grant));
}

const scores = { inline: scoreOf('inline'), credentials: scoreOf('credentials') };

/** `count` allowed GetObject calls by the inline grant's principal, one a second from 10:01:00. */
function manyGets(count: number): ActivityEvent[] {
  return Array.from({ length: count }, (_, i) =>
    record({
      id: `bulk-${String(i).padStart(4, '0')}`,
      time: new Date(Date.parse('2026-11-22T10:01:00Z') + i * 1000).toISOString().slice(11, 19),
      source: 's3',
      name: 'GetObject',
      data: true,
      arn: arn.assumed('app-reader', 'alice'),
      principalId: `${APP_READER_ID}:alice`,
      resources: [`arn:aws:s3:::app-data/reports/bulk/${i}.csv`, BUCKET],
    }),
  );
}

describe('buildReview: which records are the grant’s', () => {
  for (const grant of ['inline', 'credentials'] as const) {
    const score = scores[grant];
    it(`matches the ${grant} grant's labelled records exactly: precision ${score.precision}, recall ${score.recall}`, () => {
      // Assess
      expect({ extra: score.extra, missed: score.missed }).toEqual({ extra: [], missed: [] });
      expect(score.precision).toBe(1);
      expect(score.recall).toBe(1);
    });
  }

  it('labels a fixture with records on both sides of each decision', () => {
    // Assess: the score means something only when both sets are non-trivial.
    expect(expectedIds(fixture, 'inline').size).toBe(9);
    expect(expectedIds(fixture, 'credentials').size).toBe(10);
    expect(fixture.records.filter((r) => !r.inline && !r.credentials)).toHaveLength(14);
  });

  it('lists the matched records oldest first, with their class, session and console link', () => {
    // Act
    const review = reviewOf('inline');
    // Assess
    expect(review.calls.map((c) => [c.eventId, c.outcome, c.eventClass])).toEqual([
      ['i-refused-put', 'refused', 'data'],
      ['i-q3-1', 'allowed', 'data'],
      ['i-q3-2', 'allowed', 'data'],
      ['i-q4', 'allowed', 'data'],
      ['i-location', 'allowed', 'management'],
      ['i-describe', 'allowed', 'management'],
      ['i-ci-q3', 'allowed', 'data'],
      ['i-refused-secret', 'refused', 'data'],
      ['i-refused-kms', 'refused', 'data'],
    ]);
    expect(review.calls[6]).toMatchObject({
      session: `${APP_READER_ID}:ci-nightly`,
      sourceIp: '10.0.0.5',
      link: 'https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/i-ci-q3',
    });
    expect(review.callsTruncated).toBe(false);
  });
});

describe('buildReview: figures', () => {
  it('counts used action × resource rows of the inline grant, every session of the role included', () => {
    // Act
    const review = reviewOf('inline');
    // Assess
    const alice = `${APP_READER_ID}:alice`;
    const row = (action: string, resource: string, calls: number, first: string, last: string) => ({
      action,
      resource,
      calls,
      firstAt: `2026-11-22T${first}Z`,
      lastAt: `2026-11-22T${last}Z`,
    });
    expect(review.used).toEqual([
      {
        ...row('s3:GetObject', Q3, 3, '10:00:30', '10:07:00'),
        sessions: [alice, `${APP_READER_ID}:ci-nightly`],
        sourceIps: ['10.0.0.5', '198.51.100.7'],
        userAgents: ['aws-cli/2.17.0'],
      },
      {
        ...row('dynamodb:DescribeTable', TABLE, 1, '10:05:00', '10:05:00'),
        sessions: [alice],
        sourceIps: ['198.51.100.7'],
        userAgents: ['aws-cli/2.17.0'],
      },
      {
        ...row('s3:GetBucketLocation', BUCKET, 1, '10:04:00', '10:04:00'),
        sessions: [alice],
        sourceIps: ['198.51.100.7'],
        userAgents: ['aws-cli/2.17.0'],
      },
      {
        ...row('s3:GetObject', Q4, 1, '10:03:00', '10:03:00'),
        sessions: [alice],
        sourceIps: ['198.51.100.8'],
        userAgents: ['aws-cli/2.17.0'],
      },
    ]);
    expect(review.usedTruncated).toBe(false);
  });

  it('counts used rows of the credentials grant’s granted actions, another key of the same session included', () => {
    // Act
    const review = reviewOf('credentials');
    // Assess
    const session = `${fixture.credentials.request.session?.roleId}:jit-${fixture.credentials.request.id}`;
    const granted = review.used.filter((u) => u.action.startsWith('s3:'));
    expect(granted.map((u) => [u.action, u.resource, u.calls, u.firstAt, u.lastAt, u.sourceIps])).toEqual([
      ['s3:PutObject', ZIP, 2, '2026-11-22T10:02:00Z', '2026-11-22T10:03:00Z', ['203.0.113.10']],
      ['s3:GetObject', ZIP, 1, '2026-11-22T10:07:00Z', '2026-11-22T10:07:00Z', ['203.0.113.10']],
      ['s3:PutObject', SHA, 1, '2026-11-22T10:02:30Z', '2026-11-22T10:02:30Z', ['203.0.113.10']],
      ['s3:PutObject', NOTES, 1, '2026-11-22T10:04:00Z', '2026-11-22T10:04:00Z', ['203.0.113.11']],
    ]);
    expect(new Set(granted.flatMap((u) => u.sessions))).toEqual(new Set([session]));
  });

  it('keeps a session call outside the granted actions out of the used rows and the suggested policy', () => {
    // Prepare: the credentials session called sts:GetCallerIdentity (allowed without any permission).
    // Act
    const review = reviewOf('credentials');
    // Assess: `used` is "calls of one granted action"; a statement without resources is not a valid policy.
    expect(review.calls.find((c) => c.eventId === 'c-whoami')).toMatchObject({ outcome: 'allowed' });
    expect(review.used.map((u) => u.action)).not.toContain('sts:GetCallerIdentity');
    expect(review.suggestedPolicy.Statement).toEqual([
      { Effect: 'Allow', Action: ['s3:PutObject'], Resource: [ZIP, SHA, NOTES] },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [ZIP] },
    ]);
    for (const statement of review.suggestedPolicy.Statement)
      expect(statement.Resource.length).toBeGreaterThan(0);
  });

  it.each([
    [
      'inline',
      [
        ['i-refused-put', 's3:PutObject', Q3, false],
        ['i-refused-secret', 's3:GetObject', 'arn:aws:s3:::app-data/secret/keys.csv', false],
        ['i-refused-kms', 's3:GetObject', 'arn:aws:s3:::app-data/reports/2026/encrypted.csv', true],
      ],
    ],
    [
      'credentials',
      [
        ['c-refused-list', 's3:ListObjects', RELEASE, false],
        ['c-refused-other-prefix', 's3:PutObject', 'arn:aws:s3:::release/other/x.zip', false],
        ['c-refused-iam', 'iam:CreateUser', '*', false],
        ['c-after-revoke', 's3:PutObject', 'arn:aws:s3:::release/app/v1.2.4/app.zip', true],
      ],
    ],
  ] as const)('flags the %s grant’s refusals inside or outside what was granted', (grant, expected) => {
    // Act
    const review = reviewOf(grant);
    // Assess
    expect(review.refused.map((r) => [r.eventId, r.action, r.resource, r.insideGrant])).toEqual(expected);
    expect(review.refused.every((r) => r.errorCode === 'AccessDenied')).toBe(true);
  });

  it.each([
    ['inline', ['s3:ListBucket', 'dynamodb:GetItem'], 0.4],
    ['credentials', ['s3:DeleteObject'], 0.333],
  ] as const)(
    'names the %s grant’s unused actions and their share (refusals are not use)',
    (grant, actions, share) => {
      // Act
      const review = reviewOf(grant);
      // Assess
      expect(review.unused).toEqual({ actions, share });
    },
  );

  it('suggests a policy of the used actions on the used resources, one statement per resource set', () => {
    // Act
    const review = reviewOf('inline');
    // Assess
    expect(review.suggestedPolicy).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [Q3, Q4] },
        { Effect: 'Allow', Action: ['dynamodb:DescribeTable'], Resource: [TABLE] },
        { Effect: 'Allow', Action: ['s3:GetBucketLocation'], Resource: [BUCKET] },
      ],
    });
  });

  it.each([
    [20, 20],
    [21, 1],
  ])('suggests %s distinct objects as %s resources (the granted pattern above 20)', (count, listed) => {
    // Act
    const review = reviewOf('inline', { events: manyGets(count) });
    // Assess
    const statement = review.suggestedPolicy.Statement.find((s) => s.Action.includes('s3:GetObject'));
    expect(statement?.Resource).toHaveLength(listed);
    if (listed === 1) expect(statement?.Resource).toEqual(['arn:aws:s3:::app-data/reports/*']);
    else expect(statement?.Resource).toContain('arn:aws:s3:::app-data/reports/bulk/19.csv');
  });

  it('suggests the granted pattern when the records name no resource', () => {
    // Prepare: a DescribeTable record without resources.
    const bare = record({
      id: 'bare',
      time: '10:05:00',
      source: 'dynamodb',
      name: 'DescribeTable',
      arn: arn.assumed('app-reader', 'alice'),
    });
    // Act
    const review = reviewOf('inline', { events: [bare] });
    // Assess
    expect(review.used.map((u) => [u.action, u.resource])).toEqual([['dynamodb:DescribeTable', '*']]);
    expect(review.suggestedPolicy.Statement).toEqual([
      { Effect: 'Allow', Action: ['dynamodb:DescribeTable'], Resource: [TABLE] },
    ]);
  });

  it('lists at most REVIEW_CALLS_LIMIT calls and REVIEW_USED_LIMIT rows, and says so', () => {
    // Act
    const at = reviewOf('inline', { events: manyGets(REVIEW_CALLS_LIMIT) });
    const above = reviewOf('inline', { events: manyGets(REVIEW_CALLS_LIMIT + 1) });
    // Assess
    expect([at.calls.length, at.callsTruncated]).toEqual([500, false]);
    expect([above.calls.length, above.callsTruncated]).toEqual([500, true]);
    expect(above.calls.at(-1)?.eventId).toBe('bulk-0499');
    expect([above.used.length, above.usedTruncated]).toEqual([REVIEW_USED_LIMIT, true]);
    expect(above.suggestedPolicy.Statement[0]?.Resource).toEqual(['arn:aws:s3:::app-data/reports/*']);
  });
});

describe('buildReview: visibility, pass and first use', () => {
  it.each([
    ['LookupEvents only', [LOOKUP], ['management'], false],
    ['LookupEvents and Athena', [LOOKUP, ATHENA], ['management', 'data'], false],
    ['a failed Athena', [LOOKUP, { ...ATHENA, error: 'query FAILED' }], ['management'], true],
    ['no source', [], [], true],
  ] as const)('reports what %s can see', (_case, sources, eventClasses, incomplete) => {
    // Act
    const review = reviewOf('inline', { sources });
    // Assess
    expect(review.visibility).toEqual({ eventClasses, sources, incomplete });
  });

  it.each([
    [0, true],
    [1, false],
    [2, false],
  ] as const)('marks pass %s provisional: %s', (pass, provisional) => {
    // Act
    const review = reviewOf('inline', { pass });
    // Assess
    expect([review.pass, review.provisional]).toEqual([pass, provisional]);
  });

  it("takes a credentials session's first call as its first use, refused or not", () => {
    // Act
    const review = reviewOf('credentials');
    // Assess
    expect(review.firstUse).toEqual({
      at: '2026-11-22T10:01:10Z',
      action: 's3:ListObjects',
      eventId: 'c-refused-list',
      sourceIp: '203.0.113.10',
      userAgent: 'aws-cli/2.17.0',
    });
  });

  it("takes an inline grant's first allowed call as its first use", () => {
    // Act
    const review = reviewOf('inline');
    // Assess
    expect(review.firstUse).toEqual({
      at: '2026-11-22T10:00:30Z',
      action: 's3:GetObject',
      eventId: 'i-q3-1',
      sourceIp: '198.51.100.7',
      userAgent: 'aws-cli/2.17.0',
    });
  });

  it('has no first use when nothing matched', () => {
    // Act
    const review = reviewOf('inline', { events: [] });
    // Assess
    expect(review.firstUse).toBeUndefined();
    expect(review.used).toEqual([]);
    expect(review.suggestedPolicy.Statement).toEqual([]);
    expect(review.unused.share).toBe(1);
  });

  it('records the request, its approvals, its correlation keys and its chain', () => {
    // Act
    const inline = reviewOf('inline');
    const credentials = reviewOf('credentials');
    // Assess
    expect(inline).toMatchObject({
      requestId: fixture.inline.request.id,
      kind: 'policy',
      status: 'REVOKED',
      account: ACCOUNT,
      approvals: [{ approver: arn.assumed('Approver', 'bob') }],
      correlation: { principalArn: arn.role('app-reader') },
      integrity: { ok: true, events: fixture.inline.events.length },
    });
    expect(Object.keys(inline.correlation)).toEqual(['principalArn']);
    const session = fixture.credentials.request.session;
    expect(credentials.correlation).toEqual({
      principalArn: arn.role('jit-release-prod'),
      accessKeyId: session?.accessKeyId,
      sessionName: `jit-${fixture.credentials.request.id}`,
      sourceIdentity: 'alice',
      roleId: session?.roleId,
    });
    expect(credentials.approvals).toEqual([]);
  });
});

describe('review windows and queries', () => {
  it('bounds an inline grant by its expiry when the revoke came later, and a credentials grant by its credentials', () => {
    // Assess
    expect(fixture.inline.window).toEqual({
      grantedAt: '2026-11-22T10:00:00.000Z',
      expiresAt: '2026-11-22T10:15:00Z',
      revokedAt: '2026-11-22T10:16:00.000Z',
      usableUntil: '2026-11-22T10:15:00Z',
      searchedFrom: '2026-11-22T10:00:00.000Z',
      searchedTo: '2026-11-22T10:30:00.000Z',
    });
    expect(fixture.credentials.window).toEqual({
      grantedAt: '2026-11-22T10:01:00.000Z',
      expiresAt: '2026-11-22T10:11:00Z',
      revokedAt: '2026-11-22T10:11:00.000Z',
      usableUntil: '2026-11-22T10:16:00.000Z',
      searchedFrom: '2026-11-22T10:01:00.000Z',
      searchedTo: '2026-11-22T10:31:00.000Z',
    });
  });

  it.each([
    ['inline, revoked early', 'inline', '2026-11-22T10:05:00.000Z', '2026-11-22T10:05:00.000Z'],
    ['inline, revoked after expiry', 'inline', '2026-11-22T10:20:00.000Z', '2026-11-22T10:15:00Z'],
    ['credentials, revoked early', 'credentials', '2026-11-22T10:05:00.000Z', '2026-11-22T10:16:00.000Z'],
    [
      'credentials, revoked after the credentials',
      'credentials',
      '2026-11-22T10:30:00.000Z',
      '2026-11-22T10:16:00.000Z',
    ],
  ] as const)('ends the usable time of %s at the right moment', (_case, grant, revokedAt, expected) => {
    // Act
    const until = usableUntilOf(fixture[grant].request, revokedAt);
    // Assess
    expect(until).toBe(expected);
  });

  it('ends a credentials grant at the revoke or expiry when it has no session', () => {
    // Prepare
    const { session: _session, ...request } = fixture.credentials.request;
    // Act
    const until = usableUntilOf(request as AccessRequest, '2026-11-22T10:05:00.000Z');
    // Assess
    expect(until).toBe('2026-11-22T10:05:00.000Z');
  });

  it('has no window for a request never granted, and ends a live one now', async () => {
    // Prepare
    const { deps, store, clock } = fakeDeps(reviewConfig());
    const pending = await pendingRequest(deps);
    const events = await store.events(pending);
    // Act
    const none = reviewWindow((await store.get(pending)) as AccessRequest, events, 900, clock.now());
    const live = reviewWindow(
      { ...fixture.inline.request, status: 'GRANTED' },
      fixture.inline.events.filter((e) => e.to !== 'REVOKED'),
      900,
      new Date('2026-11-22T10:07:00.000Z'),
    );
    // Assess
    expect(none).toBeUndefined();
    expect(live).toEqual({
      grantedAt: '2026-11-22T10:00:00.000Z',
      expiresAt: '2026-11-22T10:15:00Z',
      usableUntil: '2026-11-22T10:07:00.000Z',
      searchedFrom: '2026-11-22T10:00:00.000Z',
      searchedTo: '2026-11-22T10:22:00.000Z',
    });
  });

  it('runs the passes once CloudTrail has delivered, and again an hour later', () => {
    // Act
    const standard = reviewPassTimes({ audit: { deliveryDelaySeconds: 900 } }, '2026-11-22T10:15:00Z');
    const slow = reviewPassTimes({ audit: { deliveryDelaySeconds: 1800 } }, '2026-11-22T10:15:00Z');
    // Assess
    expect(standard).toEqual({ first: '2026-11-22T10:30:00.000Z', second: '2026-11-22T11:15:00.000Z' });
    expect(slow).toEqual({ first: '2026-11-22T10:45:00.000Z', second: '2026-11-22T12:15:00.000Z' });
  });

  it('asks the sources for the principal and the granted services of an inline grant', () => {
    // Act
    const query = activityQuery(fixture.inline.request, fixture.inline.window);
    // Assess
    expect(query).toEqual({
      requestId: fixture.inline.request.id,
      account: ACCOUNT,
      start: '2026-11-22T10:00:00.000Z',
      end: '2026-11-22T10:30:00.000Z',
      principalArn: arn.role('app-reader'),
      eventSources: ['dynamodb.amazonaws.com', 's3.amazonaws.com'],
    });
  });

  it('asks the sources for the session keys of a credentials grant', () => {
    // Act
    const query = activityQuery(fixture.credentials.request, fixture.credentials.window);
    // Assess
    const session = fixture.credentials.request.session;
    expect(query).toEqual({
      requestId: fixture.credentials.request.id,
      account: ACCOUNT,
      start: '2026-11-22T10:01:00.000Z',
      end: '2026-11-22T10:31:00.000Z',
      principalArn: arn.role('jit-release-prod'),
      accessKeyId: session?.accessKeyId,
      sessionName: `jit-${fixture.credentials.request.id}`,
      sourceIdentity: 'alice',
      roleId: session?.roleId,
      eventSources: ['s3.amazonaws.com'],
    });
    expect(session?.accessKeyId).toMatch(/^ASIA[0-9A-F]{16}$/);
    expect(session?.roleId).toMatch(/^AROA[0-9A-F]{17}$/);
  });
});

describe('hashReview', () => {
  it('hashes the same review the same way, with or without its hash field', () => {
    // Prepare
    const review = reviewOf('credentials');
    // Act
    const hash = hashReview(review);
    // Assess
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashReview(reviewOf('credentials'))).toBe(hash);
    const stored: ActivityReview = { ...review, hash };
    expect(hashReview(stored)).toBe(hash);
    expect(hashReview(JSON.parse(JSON.stringify({ ...review, hash: 'x' })))).toBe(hash);
  });

  it('changes the hash when the content changes', () => {
    // Prepare
    const review = reviewOf('inline');
    const hash = hashReview(review);
    // Act
    const fewer = hashReview(reviewOf('inline', { events: allRecords.filter((e) => e.eventId !== 'i-q4') }));
    const final = hashReview(reviewOf('inline', { pass: 1 }));
    const tampered = hashReview({ ...review, unused: { ...review.unused, share: 0 } });
    // Assess
    expect(new Set([hash, fewer, final, tampered]).size).toBe(4);
  });
});
