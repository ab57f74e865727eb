/**
 * The audit review at volume, on the real CloudTrail adapter over the LocalCloudTrail fake:
 *
 * 1. A credentials grant and an inline grant among 10,000 CloudTrail records in their account and region:
 *    the wall time of `activity.find` + `buildReview` per kind with a pacer whose limit is out of the way
 *    (the compute, not the 2/s quota), the pages read, the records returned and matched, the peak memory;
 *    and the time the real quota (2 LookupEvents per second per account and region) implies for those pages.
 * 2. LookupEvents pacing on real timers: the adapter's default pacer against the fake's 2/s throttle, one
 *    query of 40 pages, then two concurrent queries on one account and region sharing one pacer.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CloudTrailActivity, type LookupEventsFn } from '#adapters/cloudtrail-activity.ts';
import { Pacer } from '#adapters/pacer.ts';
import type { ActivityQuery } from '#core/audit/activity.ts';
import { activityQuery, buildReview, matchRecord, reviewWindow } from '#core/audit/review.ts';
import type { AccessRequest, AuditEvent } from '#core/model.ts';
import { submitRequest } from '#core/requests/requests.ts';
import { grantStep, revokeGrant, validateStep } from '#core/workflow/steps.ts';
import { type CloudTrailRecord, LocalCloudTrail } from '../local/fakes/cloudtrail.ts';
import { ACCOUNT, ALICE, arn, fakeDeps, testConfig } from '../test/support/fakes.ts';
import { median } from './stats.ts';

const REGION = 'eu-west-1';
const OTHER_ACCOUNT_ID = '444455556666';
const BUCKET = 'arn:aws:s3:::bench-data';
const TABLE = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/bench-orders`;
const FUNCTION = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:bench-api`;
const INSTANCES = `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/*`;
const PARAMETERS = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/bench/*`;

/** The inline grant: seven actions in three services (their event sources are what LookupEvents is asked). */
const INLINE_PERMISSIONS = [
  { actions: ['s3:GetBucketPolicy', 's3:GetBucketLocation', 's3:PutBucketTagging'], resources: [BUCKET] },
  { actions: ['dynamodb:DescribeTable', 'dynamodb:UpdateTable'], resources: [TABLE] },
  {
    actions: ['lambda:GetFunction', 'lambda:UpdateFunctionConfiguration'],
    resources: [`arn:aws:lambda:${REGION}:${ACCOUNT}:function:bench-*`],
  },
];
const CREDENTIALS_PERMISSIONS = [
  { actions: ['ec2:DescribeInstances', 'ec2:RebootInstances'], resources: [INSTANCES] },
  { actions: ['ssm:GetParameter'], resources: [PARAMETERS] },
];

function benchConfig() {
  return testConfig({
    rules: [
      {
        id: 'bench-inline',
        requesters: [arn.assumed('Developer', '*')],
        targets: [arn.role('bench-app')],
        actions: INLINE_PERMISSIONS.flatMap((p) => p.actions),
        resources: INLINE_PERMISSIONS.flatMap((p) => p.resources),
        maxDurationSeconds: 3600,
        approval: 'auto',
      },
      {
        id: 'bench-credentials',
        kind: 'credentials',
        requesters: [arn.assumed('Developer', '*')],
        targets: [arn.role('jit-ops-prod')],
        actions: CREDENTIALS_PERMISSIONS.flatMap((p) => p.actions),
        resources: CREDENTIALS_PERMISSIONS.flatMap((p) => p.resources),
        maxDurationSeconds: 3600,
        approval: 'auto',
      },
    ],
    audit: { auditors: [], deliveryDelaySeconds: 900 },
  });
}

interface Grant {
  readonly request: AccessRequest;
  readonly events: AuditEvent[];
}

/**
 * Both grants through the real steps on the fake deps (ManualClock 2026-11-22T10:00:00Z): granted at
 * 10:00 for 30 minutes, revoked at expiry (10:30); reviewed at 10:46, after the 15-minute delivery delay.
 */
async function grants() {
  const { deps, store, clock } = fakeDeps(benchConfig());
  const grant = async (body: Record<string, unknown>) => {
    const { requestId } = await submitRequest(deps, ALICE, body);
    const { outcome } = await validateStep(deps, requestId);
    if (outcome !== 'AUTO_APPROVED') throw new Error(`${requestId}: ${outcome}`);
    await grantStep(deps, requestId);
    return requestId;
  };
  const common = { durationSeconds: 1800, reason: 'benchmark the audit review' };
  const inlineId = await grant({
    kind: 'policy',
    target: arn.role('bench-app'),
    permissions: INLINE_PERMISSIONS,
    ...common,
  });
  const credentialsId = await grant({
    kind: 'credentials',
    target: arn.role('jit-ops-prod'),
    permissions: CREDENTIALS_PERMISSIONS,
    ...common,
  });
  clock.advance(1800);
  await revokeGrant(deps, credentialsId, 'system:expiry', 'TTL reached');
  await revokeGrant(deps, inlineId, 'system:expiry', 'TTL reached');
  clock.advance(16 * 60);
  const load = async (id: string): Promise<Grant> => ({
    request: (await store.get(id)) as AccessRequest,
    events: await store.events(id),
  });
  return { inline: await load(inlineId), credentials: await load(credentialsId), now: clock.now() };
}

/** Deterministic pseudo-random numbers (mulberry32), so every run sees the same records. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Caller {
  readonly role: string;
  readonly session: string;
  readonly roleId: string;
  readonly accessKeyId: string;
  readonly account?: string;
}

interface Call {
  readonly at: number;
  readonly source: string;
  readonly name: string;
  readonly resources?: readonly { ARN: string; type: string }[];
  readonly error?: string;
  readonly readOnly: boolean;
}

let eventSeq = 0;
/** One CloudTrail record as CloudTrail writes it (about 1.3 KiB of JSON, like a typical management event). */
function record(caller: Caller, call: Call): CloudTrailRecord {
  const account = caller.account ?? ACCOUNT;
  const id = (eventSeq++).toString(16).padStart(12, '0');
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `${caller.roleId}:${caller.session}`,
      arn: `arn:aws:sts::${account}:assumed-role/${caller.role}/${caller.session}`,
      accountId: account,
      accessKeyId: caller.accessKeyId,
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: caller.roleId,
          arn: `arn:aws:iam::${account}:role/${caller.role}`,
          accountId: account,
          userName: caller.role,
        },
        attributes: { creationDate: '2026-11-22T09:00:00Z', mfaAuthenticated: 'false' },
      },
    },
    eventTime: new Date(call.at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: `${call.source}.amazonaws.com`,
    eventName: call.name,
    awsRegion: REGION,
    sourceIPAddress: `198.51.100.${(eventSeq % 200) + 1}`,
    userAgent: 'aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8',
    ...(call.error
      ? { errorCode: call.error, errorMessage: `User is not authorized to perform ${call.name}` }
      : {}),
    requestParameters: {
      ...(call.resources?.[0] ? { resource: call.resources[0].ARN } : {}),
      maxResults: 100,
      filterSet: { items: [{ name: 'tag:team', valueSet: { items: [{ value: 'bench' }] } }] },
    },
    responseElements: call.error ? null : { requestId: `00000000-0000-4000-8000-${id}` },
    requestID: `00000000-0000-4000-9000-${id}`,
    eventID: `00000000-0000-4000-a000-${id}`,
    readOnly: call.readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: `${call.source}.${REGION}.amazonaws.com`,
    },
    ...(call.resources?.length
      ? { resources: call.resources.map((r) => ({ ARN: r.ARN, accountId: account, type: r.type })) }
      : {}),
  } as CloudTrailRecord;
}

interface Labelled {
  readonly record: CloudTrailRecord;
  /** Whether the record is the grant's (what the review should match). */
  readonly credentials: boolean;
  readonly inline: boolean;
}

const MIN = 60_000;

/**
 * 10,000 records in the grants' account and region (a few in another account). Credentials grant, 5,000:
 * 3,000 by its session's access key (2,700 in the window, 150 after the credentials expired but inside the
 * search, 150 after the search), 1,000 by other sessions of the same role, 1,000 by other roles. Inline
 * grant, 5,000: 3,000 by the role's sessions in its three services (granted use, the role's own use of
 * other resources and actions, refusals), 500 by those sessions in other services, 500 by them outside the
 * window, 1,000 by other roles (and the same role name in another account) in the granted services.
 */
function records(g: Awaited<ReturnType<typeof grants>>): Labelled[] {
  const random = prng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const grantedAt = Date.parse('2026-11-22T10:00:00Z');
  const until = Date.parse('2026-11-22T10:30:00Z');
  const searchedTo = Date.parse('2026-11-22T10:45:00Z');
  const inWindow = () => grantedAt + Math.floor(random() * (until - grantedAt));
  const between = (from: number, to: number) => from + 1000 + Math.floor(random() * (to - from - 1000));
  const session = g.credentials.request.session;
  if (!session?.accessKeyId) throw new Error('the credentials grant has no session');
  const own: Caller = {
    role: 'jit-ops-prod',
    session: session.sessionName,
    roleId: session.roleId,
    accessKeyId: session.accessKeyId,
  };
  const key = (i: number) => `ASIABENCH${String(i).padStart(11, '0')}`;
  const otherOps: Caller[] = Array.from({ length: 8 }, (_, i) => ({
    role: 'jit-ops-prod',
    session: i < 4 ? `jit-req-9${i}` : `ops-bot-${i}`,
    roleId: session.roleId,
    accessKeyId: key(100 + i),
  }));
  const APP_ID = 'AROABENCHAPP00000001';
  const appSessions: Caller[] = ['alice', 'ci-nightly', 'deploy-bot', 'bob', 'etl'].map((s, i) => ({
    role: 'bench-app',
    session: s,
    roleId: APP_ID,
    accessKeyId: key(200 + i),
  }));
  const otherRoles: Caller[] = ['platform-admin', 'monitoring', 'data-pipeline', 'bench-app-old'].map(
    (r, i) => ({
      role: r,
      session: `s-${i}`,
      roleId: `AROABENCHOTHER0000${i}`,
      accessKeyId: key(300 + i),
    }),
  );
  const sameNameElsewhere: Caller = {
    role: 'bench-app',
    session: 'alice',
    roleId: 'AROABENCHELSEWHERE01',
    accessKeyId: key(400),
    account: OTHER_ACCOUNT_ID,
  };
  const instance = () => ({
    ARN: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0${Math.floor(random() * 40)
      .toString(16)
      .padStart(16, '0')}`,
    type: 'AWS::EC2::Instance',
  });
  const parameter = () => ({
    ARN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/bench/${pick(['db-url', 'api-key', 'feature-flags'])}`,
    type: 'AWS::SSM::Parameter',
  });
  const opsCall = (at: number): Call => {
    const r = random();
    if (r < 0.45) return { at, source: 'ec2', name: 'DescribeInstances', readOnly: true };
    if (r < 0.6)
      return { at, source: 'ec2', name: 'RebootInstances', resources: [instance()], readOnly: false };
    if (r < 0.85)
      return { at, source: 'ssm', name: 'GetParameter', resources: [parameter()], readOnly: true };
    if (r < 0.95)
      return {
        at,
        source: 'ec2',
        name: 'TerminateInstances',
        resources: [instance()],
        error: 'Client.UnauthorizedOperation',
        readOnly: false,
      };
    return { at, source: 'sts', name: 'GetCallerIdentity', readOnly: true };
  };
  const out: Labelled[] = [];
  const push = (caller: Caller, call: Call, label: { credentials?: boolean; inline?: boolean } = {}) =>
    out.push({
      record: record(caller, call),
      credentials: label.credentials ?? false,
      inline: label.inline ?? false,
    });

  // Credentials grant: 5,000.
  for (let i = 0; i < 2700; i++) push(own, opsCall(inWindow()), { credentials: true });
  for (let i = 0; i < 150; i++) push(own, { ...opsCall(between(until, searchedTo)), error: 'ExpiredToken' });
  for (let i = 0; i < 150; i++) push(own, { ...opsCall(between(searchedTo, searchedTo + 15 * MIN)) });
  for (let i = 0; i < 1000; i++) push(pick(otherOps), opsCall(inWindow()));
  for (let i = 0; i < 1000; i++) push(pick(otherRoles), opsCall(inWindow()));

  // Inline grant: 5,000.
  const otherBucket = { ARN: 'arn:aws:s3:::bench-public', type: 'AWS::S3::Bucket' };
  const bucket = { ARN: BUCKET, type: 'AWS::S3::Bucket' };
  const table = { ARN: TABLE, type: 'AWS::DynamoDB::Table' };
  const otherTable = {
    ARN: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/audit-log`,
    type: 'AWS::DynamoDB::Table',
  };
  const fn = { ARN: FUNCTION, type: 'AWS::Lambda::Function' };
  const otherFn = {
    ARN: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:billing`,
    type: 'AWS::Lambda::Function',
  };
  /** A call in a granted service and whether it is the grant's (granted action on a granted resource, or refused). */
  const appCall = (at: number): [Call, boolean] => {
    const r = random();
    const service = pick(['s3', 'dynamodb', 'lambda'] as const);
    if (r < 0.55) {
      // Granted action on a granted resource.
      if (service === 's3')
        return [
          {
            at,
            source: 's3',
            name: pick(['GetBucketPolicy', 'GetBucketLocation', 'PutBucketTagging']),
            resources: [bucket],
            readOnly: true,
          },
          true,
        ];
      if (service === 'dynamodb')
        return [
          {
            at,
            source: 'dynamodb',
            name: pick(['DescribeTable', 'UpdateTable']),
            resources: [table],
            readOnly: true,
          },
          true,
        ];
      return [
        {
          at,
          source: 'lambda',
          name: pick(['GetFunction20150331v2', 'UpdateFunctionConfiguration20150331v2']),
          resources: [fn],
          readOnly: true,
        },
        true,
      ];
    }
    if (r < 0.7) {
      // Granted action on another resource (the role's own policy allows it): not the grant's.
      if (service === 's3')
        return [
          { at, source: 's3', name: 'GetBucketPolicy', resources: [otherBucket], readOnly: true },
          false,
        ];
      if (service === 'dynamodb')
        return [
          { at, source: 'dynamodb', name: 'DescribeTable', resources: [otherTable], readOnly: true },
          false,
        ];
      return [
        { at, source: 'lambda', name: 'GetFunction20150331v2', resources: [otherFn], readOnly: true },
        false,
      ];
    }
    if (r < 0.9) {
      // A call the grant does not give, allowed by the role's own policy: not the grant's.
      const name = { s3: 'ListBuckets', dynamodb: 'ListTables', lambda: 'ListFunctions20150331' }[service];
      return [{ at, source: service, name, readOnly: true }, false];
    }
    // Refused in a granted service: the grant's (the review lists it).
    const refused = {
      s3: ['DeleteBucket', bucket],
      dynamodb: ['DeleteTable', table],
      lambda: ['DeleteFunction20150331', fn],
    } as const;
    const [name, res] = refused[service];
    return [{ at, source: service, name, resources: [res], error: 'AccessDenied', readOnly: false }, true];
  };
  for (let i = 0; i < 3000; i++) {
    const [call, mine] = appCall(inWindow());
    push(pick(appSessions), call, { inline: mine });
  }
  for (let i = 0; i < 500; i++)
    push(pick(appSessions), {
      at: inWindow(),
      source: pick(['ec2', 'kms', 'logs']),
      name: pick(['DescribeInstances', 'Decrypt', 'DescribeLogGroups']),
      readOnly: true,
    });
  for (let i = 0; i < 500; i++) {
    const at = i % 2 ? between(grantedAt - 30 * MIN, grantedAt) : between(searchedTo, searchedTo + 15 * MIN);
    push(pick(appSessions), appCall(at)[0]);
  }
  for (let i = 0; i < 1000; i++)
    push(i % 10 === 0 ? sameNameElsewhere : pick(otherRoles), appCall(inWindow())[0]);
  return out;
}

/** A `gc()` without `--expose-gc` on the command line. */
function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Samples heap and RSS every 10 ms until stopped; `sample()` adds one now (after synchronous work). */
function memorySampler() {
  const start = process.memoryUsage();
  let heap = start.heapUsed;
  let rss = start.rss;
  let samples = 0;
  const sample = () => {
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapUsed);
    rss = Math.max(rss, m.rss);
    samples += 1;
  };
  const timer = setInterval(sample, 10);
  return {
    sample,
    stop: () => {
      clearInterval(timer);
      sample();
      const mib = (b: number) => Number((b / 2 ** 20).toFixed(1));
      return { peakHeapDeltaMiB: mib(heap - start.heapUsed), peakRssDeltaMiB: mib(rss - start.rss), samples };
    },
  };
}

/** Part 1: each kind's review over the 10,000 records, compute only (the pacer's limit out of the way). */
async function volumeFigures(runs: number) {
  const g = await grants();
  const labelled = records(g);
  // The fake's clock moves 0.6 s per call, so its 2/s throttle never fires: the quota is part 2's subject.
  let tick = Date.parse('2026-11-22T10:46:00Z');
  const cloudtrail = new LocalCloudTrail({
    now: () => {
      tick += 600;
      return new Date(tick);
    },
  });
  cloudtrail.inject(labelled.map((l) => l.record));
  const gc = gcFunction();
  const figures = [];
  for (const kind of ['credentials', 'inline'] as const) {
    const { request, events } = g[kind];
    const window = reviewWindow(request, events, 900, g.now);
    if (!window) throw new Error(`${kind} was never granted`);
    const query = activityQuery(request, window);
    const expected = labelled.filter((l) => l[kind]).length;
    const times: number[] = [];
    const findTimes: number[] = [];
    const heap: number[] = [];
    const rss: number[] = [];
    let last:
      | { pages: number; returned: number; kept: number; matched: number; throttled: number }
      | undefined;
    for (let run = 0; run < runs; run++) {
      gc();
      const callsBefore = cloudtrail.calls(ACCOUNT, REGION);
      const throttledBefore = cloudtrail.throttled(ACCOUNT, REGION);
      // A macrotask per page, as a real LookupEvents call would be: lets the 10 ms sampler run.
      const lookup: LookupEventsFn = async (account, region, input) => {
        await new Promise((resolve) => setImmediate(resolve));
        return cloudtrail.lookup(account, region, input);
      };
      const activity = new CloudTrailActivity({
        lookup,
        regions: [REGION],
        pacer: new Pacer({ limit: 1000 }),
      });
      const memory = memorySampler();
      const t0 = performance.now();
      const found = await activity.find(query);
      const t1 = performance.now();
      const review = buildReview({ request, events, window, activity: found, now: g.now, pass: 1 });
      const t2 = performance.now();
      memory.sample();
      const mem = memory.stop();
      times.push(t2 - t0);
      findTimes.push(t1 - t0);
      heap.push(mem.peakHeapDeltaMiB);
      rss.push(mem.peakRssDeltaMiB);
      if (review.visibility.incomplete)
        throw new Error(`${kind}: ${JSON.stringify(review.visibility.sources)}`);
      const source = found.sources[0];
      last = {
        pages: source?.calls ?? 0,
        returned: source?.events ?? 0,
        kept: found.events.length,
        matched: found.events.filter((e) => matchRecord(request, window, e)).length,
        throttled: cloudtrail.throttled(ACCOUNT, REGION) - throttledBefore,
      };
      if (cloudtrail.calls(ACCOUNT, REGION) - callsBefore !== last.pages)
        throw new Error('calls do not add up');
    }
    if (!last) throw new Error('no run');
    figures.push({
      kind,
      lookups: query.accessKeyId ? ['AccessKeyId'] : query.eventSources.map((s) => `EventSource=${s}`),
      findPlusReviewMs: { median: round(median(times)), runs: times.map(round) },
      findMs: { median: round(median(findTimes)) },
      pages: last.pages,
      recordsReturned: last.returned,
      keptByAdapter: last.kept,
      matched: last.matched,
      expectedMatched: expected,
      throttled: last.throttled,
      peakHeapDeltaMiB: { median: median(heap), runs: heap },
      peakRssDeltaMiB: { median: median(rss), runs: rss },
      atRealQuotaSeconds: last.pages / 2,
    });
  }
  return { recordsInFake: labelled.length, runs, kinds: figures };
}

const round = (ms: number) => Number(ms.toFixed(1));

/** The most calls that started in any sliding window of `windowMs`. */
function maxInWindow(stamps: readonly number[], windowMs = 1000): number {
  const s = [...stamps].sort((a, b) => a - b);
  let best = 0;
  let i = 0;
  for (let j = 0; j < s.length; j++) {
    while ((s[j] as number) - (s[i] as number) >= windowMs) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

/** Part 2: the default pacer against the fake's 2/s throttle, on real timers. */
async function pacingFigures() {
  // Records of the last half hour (real clock), by three access keys: 2,000, 1,000 and 1,000.
  const now = Date.now();
  const cloudtrail = new LocalCloudTrail();
  const caller = (k: string): Caller => ({
    role: 'jit-ops-prod',
    session: `jit-${k}`,
    roleId: 'AROABENCHPACING00001',
    accessKeyId: k,
  });
  const [A, B, C] = ['ASIAPACINGAAAAAAAAAA', 'ASIAPACINGBBBBBBBBBB', 'ASIAPACINGCCCCCCCCCC'] as const;
  const batch: CloudTrailRecord[] = [];
  const random = prng(7);
  for (const [k, n] of [
    [A, 2000],
    [B, 1000],
    [C, 1000],
  ] as const)
    for (let i = 0; i < n; i++)
      batch.push(
        record(caller(k), {
          at: now - 60_000 - Math.floor(random() * 29 * MIN),
          source: 'ec2',
          name: 'DescribeInstances',
          readOnly: true,
        }),
      );
  cloudtrail.inject(batch);
  const query = (k: string): ActivityQuery => ({
    requestId: `req-${k}`,
    account: ACCOUNT,
    start: new Date(now - 31 * MIN).toISOString(),
    end: new Date(now).toISOString(),
    principalArn: arn.role('jit-ops-prod'),
    accessKeyId: k,
    eventSources: ['ec2.amazonaws.com'],
  });
  const run = async (keys: readonly string[]) => {
    const calls: { at: number; date: number; throttled: boolean }[] = [];
    const lookup: LookupEventsFn = async (account, region, input) => {
      // The fake reads Date (whole ms, wall clock); the pacer reads performance.now (monotonic).
      const at = performance.now();
      const date = Date.now();
      try {
        const out = await cloudtrail.lookup(account, region, input);
        calls.push({ at, date, throttled: false });
        return out;
      } catch (error) {
        calls.push({ at, date, throttled: true });
        throw error;
      }
    };
    // One pacer with the default limit (2 per second), shared by one adapter per query.
    const pacer = new Pacer();
    const throttledBefore = cloudtrail.throttled(ACCOUNT, REGION);
    const t0 = performance.now();
    const results = await Promise.all(
      keys.map((k) => new CloudTrailActivity({ lookup, regions: [REGION], pacer }).find(query(k))),
    );
    const wallMs = performance.now() - t0;
    const errors = results.flatMap((r) => r.sources.flatMap((s) => (s.error ? [s.error] : [])));
    return {
      queries: keys.length,
      calls: calls.length,
      records: results.reduce((n, r) => n + r.events.length, 0),
      wallMs: Math.round(wallMs),
      callsPerSecond: Number((calls.length / (wallMs / 1000)).toFixed(2)),
      maxCallsIn1sWindow: maxInWindow(calls.map((c) => c.at)),
      maxServedIn1sWindow: maxInWindow(calls.filter((c) => !c.throttled).map((c) => c.at)),
      // The shortest time any 3 consecutive calls spanned (≥ 1000 ms when no window holds 3).
      minSpanOf3CallsMs: round(
        Math.min(...calls.map((c, i) => (calls[i + 2]?.at ?? Number.POSITIVE_INFINITY) - c.at)),
      ),
      throttledByFake: cloudtrail.throttled(ACCOUNT, REGION) - throttledBefore,
      // Per throttled call: how long after the served call two before it, on each clock.
      throttledGapsMs: calls.flatMap((c, i) => {
        if (!c.throttled) return [];
        const earlier = calls
          .slice(0, i)
          .filter((x) => !x.throttled)
          .at(-2);
        return earlier ? [{ performance: round(c.at - earlier.at), date: c.date - earlier.date }] : [];
      }),
      errors,
    };
  };
  const single = await run([A]);
  // Let the fake's window from the first run pass.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const concurrent = await run([B, C]);
  return { single, concurrent };
}

export async function reviewFigures() {
  const volume = await volumeFigures(3);
  const pacing = await pacingFigures();
  const problems = [
    ...volume.kinds
      .filter((k) => k.matched !== k.expectedMatched)
      .map((k) => `review ${k.kind}: matched ${k.matched} records, ${k.expectedMatched} are the grant's`),
    ...[pacing.single, pacing.concurrent].flatMap((p) => p.errors.map((e) => `pacing: ${e}`)),
  ];
  return { volume, pacing, problems };
}

/** The figures as Markdown lines for latest.md. */
export function reviewMd(r: Awaited<ReturnType<typeof reviewFigures>>): string[] {
  const v = r.volume;
  const p = r.pacing;
  const pacingRow = (name: string, x: typeof p.single) =>
    `| ${name} | ${x.calls} | ${(x.wallMs / 1000).toFixed(1)} s | ${x.callsPerSecond} | ${x.maxCallsIn1sWindow} (served ${x.maxServedIn1sWindow}) | ${x.minSpanOf3CallsMs} ms | ${x.throttledByFake} |`;
  return [
    '## Audit review',
    '',
    `${v.recordsInFake.toLocaleString('en-US')} CloudTrail records in the grants' account and region (LocalCloudTrail); the real CloudTrailActivity with a pacer limit of 1000/s (compute, not quota), then buildReview; median of ${v.runs}.`,
    '',
    '| grant | lookups | find + review ms | of which find | pages | returned | kept by adapter | matched (expected) | peak heap Δ | peak RSS Δ | at the real 2/s quota |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...v.kinds.map(
      (k) =>
        `| ${k.kind} | ${k.lookups.join(', ')} | ${k.findPlusReviewMs.median} | ${k.findMs.median} | ${k.pages} | ${k.recordsReturned} | ${k.keptByAdapter} | ${k.matched} (${k.expectedMatched}) | ${k.peakHeapDeltaMiB.median} MiB | ${k.peakRssDeltaMiB.median} MiB | ${k.atRealQuotaSeconds} s per account and region |`,
    ),
    '',
    "LookupEvents pacing on real timers, the adapter's default pacer (2 per second per account and region) against the fake's throttle:",
    '',
    '| run | calls | wall | calls/s | max calls in any 1 s window | shortest span of 3 calls | throttled by the fake |',
    '|---|---|---|---|---|---|---|',
    pacingRow('one query, 2,000 records', p.single),
    pacingRow('two concurrent queries, one pacer, 1,000 records each', p.concurrent),
    ...[p.single, p.concurrent].flatMap((x) =>
      x.throttledGapsMs.length
        ? [
            '',
            `Throttled calls (${x.queries} ${x.queries === 1 ? 'query' : 'queries'}): gap to the served call two before, performance.now / Date: ${x.throttledGapsMs.map((g) => `${g.performance} / ${g.date} ms`).join(', ')} (the pacer spaces by the monotonic clock with no margin; the fake's window is on whole wall-clock ms).`,
          ]
        : [],
    ),
    ...(r.problems.length ? ['', ...r.problems.map((x) => `**FAIL** ${x}`)] : []),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await reviewFigures();
  console.log(JSON.stringify(r, null, 2));
  console.log(reviewMd(r).join('\n'));
}
