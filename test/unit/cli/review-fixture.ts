/**
 * A realistic review (`GET /requests/{id}/review`) for the CLI tests: a credentials grant of five actions,
 * two used (17 + 4 calls), one refused inside the grant after expiry, one refused outside it.
 */
import type { ActivityReview, ReviewedCall } from '#core/audit/review-report.ts';

export const REVIEW_ID = '01J9Z6Q4N8W0X2K3M5P7R9T1V3';
const ACCOUNT = '111122223333';
const SESSION = 'AROAEXAMPLEROLEID:jit-01J9Z6Q4N8W0X2K3M5P7R9T1V3';
const BUCKET = 'arn:aws:s3:::app-data/exports/*';

/** `count` allowed calls of `action`, one a minute from `start`. */
function allowed(action: string, resource: string, start: string, count: number, ip: string): ReviewedCall[] {
  return Array.from({ length: count }, (_, i) => {
    const at = new Date(Date.parse(start) + i * 60_000).toISOString();
    const eventId = `ev-${action.replace(':', '-')}-${i}`;
    return {
      eventId,
      at,
      action,
      resource,
      outcome: 'allowed' as const,
      session: SESSION,
      sourceIp: ip,
      userAgent: 'aws-cli/2.17.0',
      eventClass: action === 's3:GetObject' ? ('data' as const) : ('management' as const),
      link: `https://console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/${eventId}`,
    };
  });
}

/** The fixture review; `overrides` replace top-level fields. */
export function makeReview(overrides: Partial<ActivityReview> = {}): ActivityReview {
  const calls: ReviewedCall[] = [
    ...allowed('s3:ListBucket', 'arn:aws:s3:::app-data', '2025-03-04T09:02:00.000Z', 4, '198.51.100.7'),
    ...allowed('s3:GetObject', BUCKET, '2025-03-04T09:06:00.000Z', 17, '198.51.100.7'),
    {
      eventId: 'ev-refused-outside',
      at: '2025-03-04T09:30:00.000Z',
      action: 'iam:CreateUser',
      resource: '*',
      outcome: 'refused',
      errorCode: 'AccessDenied',
      session: SESSION,
      sourceIp: '203.0.113.9',
      eventClass: 'management',
      link: 'https://console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/ev-refused-outside',
    },
    {
      eventId: 'ev-refused-inside',
      at: '2025-03-04T10:01:30.000Z',
      action: 's3:PutObject',
      resource: BUCKET,
      outcome: 'refused',
      errorCode: 'AccessDenied',
      session: SESSION,
      sourceIp: '198.51.100.7',
      eventClass: 'data',
      link: 'https://console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/ev-refused-inside',
    },
  ];
  calls.sort((a, b) => a.at.localeCompare(b.at));
  return {
    requestId: REVIEW_ID,
    kind: 'credentials',
    ruleId: 'app-read',
    requester: `arn:aws:sts::${ACCOUNT}:assumed-role/Developer/alice`,
    target: `arn:aws:iam::${ACCOUNT}:role/app-reader`,
    account: ACCOUNT,
    reason: 'INC-42 nightly export stuck',
    ticket: 'INC-42',
    status: 'REVOKED',
    approvals: [
      { approver: `arn:aws:sts::${ACCOUNT}:assumed-role/Approver/bob`, at: '2025-03-04T08:58:10.000Z' },
    ],
    granted: [
      {
        actions: ['s3:GetObject', 's3:ListBucket', 's3:PutObject', 's3:DeleteObject'],
        resources: ['arn:aws:s3:::app-data', BUCKET],
      },
      { actions: ['kms:Decrypt'], resources: [`arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd`] },
    ],
    window: {
      grantedAt: '2025-03-04T09:00:00.000Z',
      expiresAt: '2025-03-04T10:00:00.000Z',
      revokedAt: '2025-03-04T10:00:05.000Z',
      usableUntil: '2025-03-04T10:00:05.000Z',
      searchedFrom: '2025-03-04T09:00:00.000Z',
      searchedTo: '2025-03-04T10:15:05.000Z',
    },
    correlation: {
      principalArn: `arn:aws:iam::${ACCOUNT}:role/app-reader`,
      accessKeyId: 'ASIAEXAMPLEKEY',
      sessionName: `jit-${REVIEW_ID}`,
      roleId: 'AROAEXAMPLEROLEID',
    },
    provisional: false,
    pass: 2,
    generatedAt: '2025-03-04T11:00:07.000Z',
    firstUse: {
      at: '2025-03-04T09:02:00.000Z',
      action: 's3:ListBucket',
      eventId: 'ev-s3-ListBucket-0',
      sourceIp: '198.51.100.7',
      userAgent: 'aws-cli/2.17.0',
    },
    used: [
      {
        action: 's3:GetObject',
        resource: BUCKET,
        calls: 17,
        firstAt: '2025-03-04T09:06:00.000Z',
        lastAt: '2025-03-04T09:22:00.000Z',
        sessions: [SESSION],
        sourceIps: ['198.51.100.7'],
        userAgents: ['aws-cli/2.17.0'],
      },
      {
        action: 's3:ListBucket',
        resource: 'arn:aws:s3:::app-data',
        calls: 4,
        firstAt: '2025-03-04T09:02:00.000Z',
        lastAt: '2025-03-04T09:05:00.000Z',
        sessions: [SESSION],
        sourceIps: ['198.51.100.7'],
        userAgents: ['aws-cli/2.17.0'],
      },
    ],
    usedTruncated: false,
    refused: [
      {
        action: 'iam:CreateUser',
        resource: '*',
        at: '2025-03-04T09:30:00.000Z',
        errorCode: 'AccessDenied',
        insideGrant: false,
        eventId: 'ev-refused-outside',
        sourceIp: '203.0.113.9',
      },
      {
        action: 's3:PutObject',
        resource: BUCKET,
        at: '2025-03-04T10:01:30.000Z',
        errorCode: 'AccessDenied',
        insideGrant: true,
        eventId: 'ev-refused-inside',
        sourceIp: '198.51.100.7',
      },
    ],
    unused: { actions: ['s3:PutObject', 's3:DeleteObject', 'kms:Decrypt'], share: 0.6 },
    suggestedPolicy: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [BUCKET] },
        { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: ['arn:aws:s3:::app-data'] },
      ],
    },
    visibility: {
      eventClasses: ['management', 'data'],
      sources: [
        { name: `cloudtrail:${ACCOUNT}:eu-west-1`, eventClasses: ['management'], calls: 3, events: 6 },
        { name: 'athena:cloudtrail.org_trail', eventClasses: ['management', 'data'], calls: 5, events: 23 },
      ],
      incomplete: false,
    },
    integrity: { ok: true, events: 9 },
    calls,
    callsTruncated: false,
    hash: 'a3f1c2d4e5b6a7980112233445566778899aabbccddeeff00112233445566778',
    ...overrides,
  };
}
