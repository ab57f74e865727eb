/**
 * CloudTrail records around two real grants for the audit review tests: an inline `policy` grant on
 * `app-reader` and a `credentials` grant on `jit-release-prod`, both granted and revoked through the
 * workflow steps on the fake deps. Every record says whether it belongs to each grant, so the tests can
 * measure the review's matching against the labels (precision and recall).
 *
 * Timeline (ManualClock, 2026-11-22):
 * - 10:00:00 inline grant (900 s: expires 10:15:00), revoked late by the sweeper at 10:16:00, so it is
 *   usable until 10:15:00 (the expiry comes first);
 * - 10:01:00 credentials grant (600 s: expires 10:11:00; STS issues 900 s, credentials expire 10:16:00),
 *   revoked at 10:11:00; its session keeps being recorded (refused) until 10:16:00.
 */
import type { ActivityEvent, SourceReport } from '#core/audit/activity.ts';
import { type ReviewWindow, reviewWindow } from '#core/audit/review.ts';
import type { AccessRequest, AuditEvent } from '#core/model.ts';
import type { PolicyConfig, PolicyConfigInput } from '#core/policy/config.ts';
import { submitRequest } from '#core/requests/requests.ts';
import { grantStep, revokeGrant, validateStep } from '#core/workflow/steps.ts';
import {
  ACCOUNT,
  ALICE,
  arn,
  CREDENTIALS_RULE,
  fakeDeps,
  grantedRequest,
  testConfig,
  testConfigInput,
} from '../../../support/fakes.ts';

/** Another account in the organization, with a role of the same name. */
export const OTHER_ACCOUNT = '444455556666';
/** Reads any request and review (`audit.auditors`). */
export const AUDITOR = arn.assumed('Auditor', 'erin');
/** Reviews break-glass grants only (`breakGlass.reviewers`). */
export const BG_REVIEWER = arn.assumed('Reviewer', 'rita');
/** Another requester of the same rules. */
export const DAVE = arn.assumed('Developer', 'dave');

export const BUCKET = 'arn:aws:s3:::app-data';
export const Q3 = 'arn:aws:s3:::app-data/reports/2026/q3.csv';
export const Q4 = 'arn:aws:s3:::app-data/reports/2026/q4.csv';
export const TABLE = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/app-orders`;
export const RELEASE = 'arn:aws:s3:::release';
export const ZIP = 'arn:aws:s3:::release/app/v1.2.3/app.zip';
export const SHA = 'arn:aws:s3:::release/app/v1.2.3/app.zip.sha256';
export const NOTES = 'arn:aws:s3:::release/app/v1.2.3/notes.txt';

/** The inline grant: three blocks, five actions (two never used). */
export const INLINE_BODY = {
  kind: 'policy',
  target: arn.role('app-reader'),
  permissions: [
    { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/reports/*'] },
    { actions: ['s3:ListBucket', 's3:GetBucketLocation'], resources: [BUCKET] },
    { actions: ['dynamodb:GetItem', 'dynamodb:DescribeTable'], resources: [TABLE] },
  ],
  durationSeconds: 900,
  reason: 'investigate INC-42 report export',
  ticket: 'INC-42',
};

/** The credentials grant: three actions on the app's releases (DeleteObject never used). */
export const CREDENTIALS_BODY = {
  kind: 'credentials',
  target: arn.role('jit-release-prod'),
  permissions: [
    {
      actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
      resources: ['arn:aws:s3:::release/app/*'],
    },
  ],
  durationSeconds: 600,
  reason: 'ship 1.2.3',
};

/** The test config with wider app-read and release rules, auditors and break-glass reviewers. */
export function reviewConfig(overrides: Partial<PolicyConfigInput> = {}): PolicyConfig {
  const [appRead, ...rest] = testConfigInput().rules;
  return testConfig({
    rules: [
      {
        ...(appRead as PolicyConfigInput['rules'][number]),
        actions: [
          's3:GetObject',
          's3:ListBucket',
          's3:GetBucketLocation',
          'dynamodb:Get*',
          'dynamodb:DescribeTable',
        ],
      },
      ...rest,
      { ...CREDENTIALS_RULE, actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'] },
    ],
    audit: { auditors: [arn.assumed('Auditor', '*')], deliveryDelaySeconds: 900 },
    breakGlass: { reviewers: [arn.assumed('Reviewer', '*'), arn.assumed('Reviewer2', '*')] },
    ...overrides,
  });
}

/** One record and whether it belongs to each grant (with why, for failure messages). */
export interface LabelledRecord {
  readonly event: ActivityEvent;
  readonly inline: boolean;
  readonly credentials: boolean;
  readonly why: string;
}

/** One grant of the fixture as the review sees it. */
export interface FixtureGrant {
  readonly request: AccessRequest;
  readonly events: AuditEvent[];
  readonly window: ReviewWindow;
}

export type GrantName = 'inline' | 'credentials';

/** A CloudTrail-looking timestamp (seconds, `Z`) on 2026-11-22. */
export const at = (hms: string) => `2026-11-22T${hms}Z`;

/** The LookupEvents source (management events only). */
export const LOOKUP: SourceReport = {
  name: `cloudtrail:${ACCOUNT}:eu-west-1`,
  eventClasses: ['management'],
  calls: 2,
  events: 0,
};
/** The Athena source over an organization trail with data events. */
export const ATHENA: SourceReport = {
  name: 'athena:jit_audit.cloudtrail',
  eventClasses: ['management', 'data'],
  calls: 3,
  events: 0,
};

interface RecordSpec {
  id: string;
  time: string;
  source: string;
  name: string;
  account?: string;
  data?: boolean;
  arn: string;
  principalId?: string;
  accessKeyId?: string;
  ip?: string;
  error?: string;
  resources?: string[];
}

/** Builds an ActivityEvent from the few fields that vary. */
export function record(spec: RecordSpec): ActivityEvent {
  return {
    eventId: spec.id,
    eventTime: at(spec.time),
    eventSource: `${spec.source}.amazonaws.com`,
    eventName: spec.name,
    awsRegion: 'eu-west-1',
    recipientAccountId: spec.account ?? ACCOUNT,
    eventCategory: spec.data ? 'Data' : 'Management',
    userIdentity: {
      type: spec.arn.includes(':assumed-role/') ? 'AssumedRole' : 'IAMUser',
      arn: spec.arn,
      ...(spec.principalId ? { principalId: spec.principalId } : {}),
      ...(spec.accessKeyId ? { accessKeyId: spec.accessKeyId } : {}),
    },
    sourceIPAddress: spec.ip ?? '198.51.100.7',
    userAgent: 'aws-cli/2.17.0',
    ...(spec.error ? { errorCode: spec.error, errorMessage: 'User is not authorized' } : {}),
    resources: spec.resources ?? [],
  };
}

/** `aws:userid` of an `app-reader` session (the role's id is made up: the inline grant does not know it). */
export const APP_READER_ID = 'AROAAPPREADER0000001';

/** The records of `app-reader` (the inline grant's principal) and of other principals around it. */
export function inlineRecords(): LabelledRecord[] {
  const alice = arn.assumed('app-reader', 'alice');
  const base = { arn: alice, principalId: `${APP_READER_ID}:alice`, accessKeyId: 'ASIAAPPREADERALICE01' };
  const ci = {
    arn: arn.assumed('app-reader', 'ci-nightly'),
    principalId: `${APP_READER_ID}:ci-nightly`,
    accessKeyId: 'ASIAAPPREADERCI00001',
    ip: '10.0.0.5',
  };
  const getObject = { source: 's3', name: 'GetObject', data: true };
  const r = (spec: RecordSpec, inline: boolean, why: string): LabelledRecord => ({
    event: record(spec),
    inline,
    credentials: false,
    why,
  });
  return [
    r(
      { ...base, ...getObject, id: 'i-before', time: '09:59:59', resources: [Q3, BUCKET] },
      false,
      'granted call one second before grantedAt',
    ),
    r(
      {
        ...base,
        id: 'i-refused-put',
        time: '10:00:00',
        source: 's3',
        name: 'PutObject',
        data: true,
        error: 'AccessDenied',
        resources: [Q3, BUCKET],
      },
      true,
      'refused non-granted action in a granted service, at grantedAt exactly',
    ),
    r(
      { ...base, ...getObject, id: 'i-q3-1', time: '10:00:30', resources: [Q3, BUCKET] },
      true,
      'first allowed granted call (data event)',
    ),
    r(
      { ...base, ...getObject, id: 'i-q3-2', time: '10:02:00', resources: [Q3, BUCKET] },
      true,
      'granted call',
    ),
    r(
      { ...base, ...getObject, id: 'i-q4', time: '10:03:00', ip: '198.51.100.8', resources: [Q4, BUCKET] },
      true,
      'granted call on a second object',
    ),
    r(
      {
        ...base,
        id: 'i-location',
        time: '10:04:00',
        source: 's3',
        name: 'GetBucketLocation',
        resources: [BUCKET],
      },
      true,
      'granted management call',
    ),
    r(
      {
        ...base,
        id: 'i-describe',
        time: '10:05:00',
        source: 'dynamodb',
        name: 'DescribeTable',
        resources: [TABLE],
      },
      true,
      'granted management call in a second service',
    ),
    r(
      { ...ci, ...getObject, id: 'i-ci-q3', time: '10:07:00', resources: [Q3, BUCKET] },
      true,
      'another session of the role: the inline policy applies to every session',
    ),
    r(
      {
        ...base,
        ...getObject,
        id: 'i-refused-secret',
        time: '10:08:00',
        error: 'AccessDenied',
        resources: ['arn:aws:s3:::app-data/secret/keys.csv', BUCKET],
      },
      true,
      'refused granted action on a non-granted resource',
    ),
    r(
      {
        ...base,
        ...getObject,
        id: 'i-refused-kms',
        time: '10:08:30',
        error: 'AccessDenied',
        resources: ['arn:aws:s3:::app-data/reports/2026/encrypted.csv', BUCKET],
      },
      true,
      'refused granted action on a granted resource (a KMS key deny)',
    ),
    r(
      {
        ...base,
        id: 'i-refused-iam',
        time: '10:09:30',
        source: 'iam',
        name: 'CreateUser',
        error: 'AccessDenied',
      },
      false,
      'refused action in a service the grant does not touch',
    ),
    r(
      {
        ...base,
        ...getObject,
        id: 'i-own-public',
        time: '10:10:00',
        resources: ['arn:aws:s3:::app-data/public/logo.png', BUCKET],
      },
      false,
      "allowed by the role's own policy: granted action, non-granted resource",
    ),
    r(
      {
        ...base,
        id: 'i-own-query',
        time: '10:10:30',
        source: 'dynamodb',
        name: 'Query',
        data: true,
        resources: [TABLE],
      },
      false,
      "allowed by the role's own policy: non-granted action on the granted table",
    ),
    r(
      { ...base, id: 'i-own-whoami', time: '10:11:30', source: 'sts', name: 'GetCallerIdentity' },
      false,
      'allowed without any permission, not granted',
    ),
    r(
      {
        ...base,
        ...getObject,
        id: 'i-other-account',
        time: '10:06:00',
        account: OTHER_ACCOUNT,
        arn: `arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/app-reader/alice`,
        resources: [Q3, BUCKET],
      },
      false,
      'the same role name in another account',
    ),
    r(
      {
        ...getObject,
        id: 'i-user-same-name',
        time: '10:06:30',
        arn: arn.user('app-reader'),
        principalId: 'AIDAAPPREADERUSER001',
        resources: [Q3, BUCKET],
      },
      false,
      'an IAM user with the role name',
    ),
    r(
      {
        ...base,
        ...getObject,
        id: 'i-after-expiry',
        time: '10:15:30',
        error: 'AccessDenied',
        resources: [Q3, BUCKET],
      },
      false,
      'refused after the expiry (the policy is past its condition): outside [grantedAt, usableUntil]',
    ),
    r(
      { ...base, ...getObject, id: 'i-after-end', time: '10:16:30', resources: [Q3, BUCKET] },
      false,
      'granted call after the revoke',
    ),
  ];
}

/** The records of `jit-release-prod` (the credentials grant's role), its grant session and others. */
function credentialsRecords(session: {
  roleId: string;
  sessionName: string;
  accessKeyId: string;
}): LabelledRecord[] {
  const own = {
    arn: arn.assumed('jit-release-prod', session.sessionName),
    principalId: `${session.roleId}:${session.sessionName}`,
    accessKeyId: session.accessKeyId,
    ip: '203.0.113.10',
  };
  const put = { source: 's3', name: 'PutObject', data: true };
  const r = (spec: RecordSpec, credentials: boolean, why: string): LabelledRecord => ({
    event: record(spec),
    inline: false,
    credentials,
    why,
  });
  return [
    r(
      { ...own, ...put, id: 'c-before', time: '10:00:59', resources: [ZIP, RELEASE] },
      false,
      'one second before grantedAt',
    ),
    r(
      {
        ...own,
        id: 'c-refused-list',
        time: '10:01:10',
        source: 's3',
        name: 'ListObjects',
        data: true,
        error: 'AccessDenied',
        resources: [RELEASE],
      },
      true,
      "the session's first call, refused (non-granted action)",
    ),
    r(
      { ...own, id: 'c-whoami', time: '10:01:30', source: 'sts', name: 'GetCallerIdentity' },
      true,
      "the session's call that needs no permission (its own record, not a granted action)",
    ),
    r({ ...own, ...put, id: 'c-zip-1', time: '10:02:00', resources: [ZIP, RELEASE] }, true, 'granted call'),
    r(
      { ...own, ...put, id: 'c-sha', time: '10:02:30', resources: [SHA, RELEASE] },
      true,
      'granted call, second object',
    ),
    r(
      { ...own, ...put, id: 'c-zip-2', time: '10:03:00', resources: [ZIP, RELEASE] },
      true,
      'granted call again',
    ),
    r(
      {
        ...own,
        ...put,
        id: 'c-other-key',
        time: '10:04:00',
        accessKeyId: 'ASIACONSOLEFEDERATE1',
        ip: '203.0.113.11',
        resources: [NOTES, RELEASE],
      },
      true,
      'same aws:userid, another access key id',
    ),
    r(
      {
        ...own,
        ...put,
        id: 'c-refused-other-prefix',
        time: '10:05:00',
        error: 'AccessDenied',
        resources: ['arn:aws:s3:::release/other/x.zip', RELEASE],
      },
      true,
      'refused granted action on a non-granted resource',
    ),
    r(
      {
        ...own,
        id: 'c-refused-iam',
        time: '10:06:00',
        source: 'iam',
        name: 'CreateUser',
        error: 'AccessDenied',
      },
      true,
      'refused non-granted action (any call of the session is its own)',
    ),
    r(
      {
        ...own,
        id: 'c-get',
        time: '10:07:00',
        source: 's3',
        name: 'GetObject',
        data: true,
        resources: [ZIP, RELEASE],
      },
      true,
      'granted call of a second action',
    ),
    r(
      {
        ...put,
        id: 'c-other-session',
        time: '10:05:30',
        arn: arn.assumed('jit-release-prod', 'jit-req-0099'),
        principalId: `${session.roleId}:jit-req-0099`,
        accessKeyId: 'ASIAOTHERJITSESSION1',
        resources: [ZIP, RELEASE],
      },
      false,
      'another JIT session of the same role',
    ),
    r(
      {
        ...put,
        id: 'c-deploy-bot',
        time: '10:05:40',
        arn: arn.assumed('jit-release-prod', 'deploy-bot'),
        principalId: `${session.roleId}:deploy-bot`,
        accessKeyId: 'ASIADEPLOYBOT0000001',
        resources: [ZIP, RELEASE],
      },
      false,
      'another session of the same role',
    ),
    r(
      {
        ...put,
        id: 'c-other-account',
        time: '10:05:50',
        account: OTHER_ACCOUNT,
        arn: `arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/jit-release-prod/${session.sessionName}`,
        principalId: `AROAOTHERACCOUNTROLE:${session.sessionName}`,
        accessKeyId: 'ASIAOTHERACCOUNT0001',
        resources: [ZIP, RELEASE],
      },
      false,
      'the same role and session name in another account',
    ),
    r(
      {
        ...own,
        ...put,
        id: 'c-after-revoke',
        time: '10:12:00',
        error: 'AccessDenied',
        resources: ['arn:aws:s3:::release/app/v1.2.4/app.zip', RELEASE],
      },
      true,
      'refused by the session deny after revoke, credentials still valid',
    ),
    r(
      {
        ...own,
        ...put,
        id: 'c-after-end',
        time: '10:16:01',
        error: 'ExpiredToken',
        resources: [ZIP, RELEASE],
      },
      false,
      'one second after the credentials expired',
    ),
  ];
}

/** The two grants, their records and the fake deps they live in. */
export interface ReviewFixture {
  readonly env: ReturnType<typeof fakeDeps>;
  readonly inline: FixtureGrant;
  readonly credentials: FixtureGrant;
  readonly records: readonly LabelledRecord[];
}

/** Grants and revokes both requests through the workflow steps, then builds their labelled records. */
export async function buildReviewFixture(): Promise<ReviewFixture> {
  const env = fakeDeps(reviewConfig());
  const { deps, clock, store } = env;
  const inlineId = await grantedRequest(deps, INLINE_BODY);
  clock.advance(60);
  const { requestId: credentialsId } = await submitRequest(deps, ALICE, CREDENTIALS_BODY);
  if ((await validateStep(deps, credentialsId)).outcome !== 'AUTO_APPROVED')
    throw new Error('not auto-approved');
  await grantStep(deps, credentialsId);
  clock.advance(600);
  await revokeGrant(deps, credentialsId, 'system:expiry', 'TTL reached');
  clock.advance(300);
  await revokeGrant(deps, inlineId, 'system:expiry', 'TTL reached');
  const grant = async (id: string): Promise<FixtureGrant> => {
    const request = (await store.get(id)) as AccessRequest;
    const events = await store.events(id);
    const window = reviewWindow(request, events, deps.config.audit.deliveryDelaySeconds, clock.now());
    if (!window) throw new Error(`${id} was not granted`);
    return { request, events, window };
  };
  const inline = await grant(inlineId);
  const credentials = await grant(credentialsId);
  const session = credentials.request.session;
  if (!session?.accessKeyId) throw new Error('the credentials grant has no session');
  const records = [
    ...inlineRecords(),
    ...credentialsRecords({
      roleId: session.roleId,
      sessionName: session.sessionName,
      accessKeyId: session.accessKeyId,
    }),
  ].sort((a, b) => a.event.eventTime.localeCompare(b.event.eventTime));
  return { env, inline, credentials, records };
}

/** The event ids labelled as the grant's. */
export function expectedIds(fixture: ReviewFixture, grant: GrantName): Set<string> {
  return new Set(fixture.records.filter((r) => r[grant]).map((r) => r.event.eventId));
}

/** How well a matched set of ids agrees with the expected set. */
export interface MatchScore {
  readonly precision: number;
  readonly recall: number;
  /** Matched but not expected. */
  readonly extra: readonly string[];
  /** Expected but not matched. */
  readonly missed: readonly string[];
}

/** Precision (matched that are expected) and recall (expected that are matched); 1 for empty sets. */
export function scoreMatching(matched: ReadonlySet<string>, expected: ReadonlySet<string>): MatchScore {
  const hits = [...matched].filter((id) => expected.has(id)).length;
  return {
    precision: matched.size === 0 ? 1 : hits / matched.size,
    recall: expected.size === 0 ? 1 : hits / expected.size,
    extra: [...matched].filter((id) => !expected.has(id)).sort(),
    missed: [...expected].filter((id) => !matched.has(id)).sort(),
  };
}
