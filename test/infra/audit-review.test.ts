import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '#core/policy/config.ts';
import { buildBrokerApp } from '../../lib/app.ts';
import { testConfig } from '../support/fakes.ts';
import { B, BROKER_STACK, C, HUB, multiAccountConfig } from '../support/multi-account.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped.
type Json = any;

const SYNTH_TIMEOUT = 180_000;
const REGION = 'eu-west-1';
const ATHENA = {
  outputLocation: 's3://jit-athena-results/review/',
  trailLocation: 's3://org-trail-logs/AWSLogs/o-abcdefghij',
  workgroup: 'jit-review',
};
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: Json;
}

/** Resolves Fn::Join and the pseudo parameters (the hub's account and region). */
function resolve(value: Json): Json {
  if (Array.isArray(value)) return value.map(resolve);
  if (value && typeof value === 'object') {
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'];
      return parts.map(resolve).join(sep);
    }
    if (value.Ref === 'AWS::Partition') return 'aws';
    if (value.Ref === 'AWS::AccountId') return HUB;
    if (value.Ref === 'AWS::Region') return REGION;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
  }
  return value;
}

interface Synthesized {
  readonly built: ReturnType<typeof buildBrokerApp>;
  readonly broker: Json;
  readonly stateful: Json;
  readonly nag: Json;
  readonly error?: Error;
}

function synthesize(policy: PolicyConfig, outdir: string): Synthesized {
  const built = buildBrokerApp({
    policy,
    hubAccount: HUB,
    env: { region: REGION },
    appProps: { outdir, context: { 'aws:cdk:bundling-stacks': [] } },
  });
  let error: Error | undefined;
  try {
    built.app.synth();
  } catch (e) {
    error = e as Error;
  }
  const read = (s: Stack) => JSON.parse(readFileSync(join(outdir, s.templateFile), 'utf8'));
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
  return {
    built,
    broker: read(built.broker),
    stateful: read(built.stateful),
    nag: report.pluginReports.find((r: Json) => r.pluginName === 'AwsSolutions'),
    ...(error ? { error } : {}),
  };
}

/** The logical id and properties of the broker function with the given handler name. */
function functionOf(template: Json, handler: string): [string, Json] {
  const fns = Object.entries<Json>(template.Resources).filter(
    ([, r]) =>
      r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.JIT_HANDLER === handler,
  );
  expect(fns).toHaveLength(1);
  const [id, fn] = fns[0] as [string, Json];
  return [id, fn.Properties];
}

/** Every statement of the identity policies attached to the execution role of `handler`, resolved. */
function statementsOf(template: Json, handler: string): Statement[] {
  const [, fn] = functionOf(template, handler);
  const roleId = fn.Role['Fn::GetAtt'][0];
  const role = template.Resources[roleId].Properties;
  const docs = [
    ...Object.values<Json>(template.Resources)
      .filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' && asArray<Json>(r.Properties.Roles).some((x) => x.Ref === roleId),
      )
      .map((r) => r.Properties.PolicyDocument),
    ...asArray<Json>(role.Policies).map((p) => p.PolicyDocument),
  ];
  return docs.flatMap((d) => asArray<Statement>(d.Statement)).map(resolve);
}

const allowedActions = (statements: Statement[]) =>
  statements.filter((s) => s.Effect === 'Allow').flatMap((s) => asArray(s.Action));

const resourcesFor = (statements: Statement[], action: string) =>
  statements
    .filter((s) => s.Effect === 'Allow' && asArray(s.Action).includes(action))
    .flatMap((s) => asArray(s.Resource));

function expectNagClean(s: Synthesized): void {
  expect(s.error?.message).toBeUndefined();
  expect(s.nag.violations).toEqual([]);
  expect(s.nag.conclusion).toBe('success');
  for (const v of s.nag.suppressedViolations) expect(String(v.reason).trim().length).toBeGreaterThan(20);
}

describe('audit review (listed accounts, Athena)', () => {
  let outdir: string;
  let s: Synthesized;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'jit-review-'));
    s = synthesize(multiAccountConfig({ audit: { athena: ATHENA } }), outdir);
  }, SYNTH_TIMEOUT);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('runs the review function for 10 minutes with 1024 MB, like the other functions otherwise', () => {
    // Act
    const [, fn] = functionOf(s.broker, 'review');
    // Assess
    expect(fn.Timeout).toBe(600);
    expect(fn.MemorySize).toBe(1024);
    expect([fn.Runtime, fn.Architectures]).toEqual(['nodejs24.x', ['arm64']]);
    expect(fn.Environment.Variables.JIT_ALERT_TOPIC_ARN).toBeDefined();
    expect(fn.Environment.Variables.JIT_TABLE_NAME).toBeDefined();
    const logGroup = s.broker.Resources[fn.LoggingConfig.LogGroup.Ref];
    expect(logGroup.Properties.RetentionInDays).toBe(365);
  });

  it('invokes the review function every 5 minutes with the follow-ups action', () => {
    // Prepare
    const [id] = functionOf(s.broker, 'review');
    // Act
    const schedules = Object.values<Json>(s.broker.Resources)
      .filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties.ScheduleExpression)
      .filter((r) => r.Properties.Targets.some((t: Json) => t.Arn['Fn::GetAtt']?.[0] === id));
    // Assess
    expect(schedules).toHaveLength(1);
    expect(schedules[0].Properties.ScheduleExpression).toBe('rate(5 minutes)');
    expect(JSON.parse(schedules[0].Properties.Targets[0].Input)).toEqual({ action: 'followUps' });
  });

  it('lets the review function assume the grantors only, with a fixed role name they trust', () => {
    // Prepare
    const [, fn] = functionOf(s.broker, 'review');
    // Act
    const statements = statementsOf(s.broker, 'review');
    // Assess
    expect(s.broker.Resources[fn.Role['Fn::GetAtt'][0]].Properties.RoleName).toBe(`${BROKER_STACK}-review`);
    expect(resourcesFor(statements, 'sts:AssumeRole').sort()).toEqual(
      [HUB, B, C].map((a) => `arn:aws:iam::${a}:role/JitGrantor`).sort(),
    );
    expect(allowedActions(statements).filter((a) => /^(iam|cloudtrail):/.test(a))).toEqual([]);
  });

  it('lets the review function query the CloudTrail table in the workgroup, and publish alerts', () => {
    // Act
    const statements = statementsOf(s.broker, 'review');
    // Assess
    expect(resourcesFor(statements, 'athena:StartQueryExecution')).toEqual([
      `arn:aws:athena:${REGION}:${HUB}:workgroup/jit-review`,
    ]);
    expect(resourcesFor(statements, 'glue:GetTable')).toContain(
      `arn:aws:glue:${REGION}:${HUB}:table/jit_audit/cloudtrail`,
    );
    expect(resourcesFor(statements, 's3:GetObject').sort()).toEqual([
      'arn:aws:s3:::jit-athena-results/review/*',
      'arn:aws:s3:::org-trail-logs/AWSLogs/o-abcdefghij/*',
    ]);
    expect(resourcesFor(statements, 's3:PutObject')).toEqual(['arn:aws:s3:::jit-athena-results/review/*']);
    expect(resourcesFor(statements, 'sns:Publish')).toHaveLength(1);
  });

  it('lets the API invoke the review function and the revoke function only, with no iam or sts action', () => {
    // Prepare
    const [reviewId] = functionOf(s.broker, 'review');
    const [revokeId] = functionOf(s.broker, 'revoke');
    const [, api] = functionOf(s.broker, 'api');
    // Act
    const statements = statementsOf(s.broker, 'api');
    // Assess
    expect(
      resourcesFor(statements, 'lambda:InvokeFunction')
        .map((r) => r['Fn::GetAtt'][0])
        .sort(),
    ).toEqual([reviewId, revokeId].sort());
    expect(api.Environment.Variables.JIT_REVIEW_FUNCTION_NAME).toEqual({ Ref: reviewId });
    expect(allowedActions(statements).filter((a) => /^(iam|sts|cloudtrail|athena):/i.test(a))).toEqual([]);
  });

  it('lets the grant function publish break-glass alerts to the alert topic', () => {
    // Prepare
    const topics = Object.keys(s.broker.Resources).filter(
      (k) => s.broker.Resources[k].Type === 'AWS::SNS::Topic',
    );
    const [, grant] = functionOf(s.broker, 'grant');
    // Act
    const statements = statementsOf(s.broker, 'grant');
    // Assess
    expect(topics).toHaveLength(1);
    expect(resourcesFor(statements, 'sns:Publish')).toEqual([{ Ref: topics[0] }]);
    expect(grant.Environment.Variables.JIT_ALERT_TOPIC_ARN).toEqual({ Ref: topics[0] });
  });

  it('gives the first-use function the audit table and no IAM, STS or SNS permission', () => {
    // Act
    const actions = allowedActions(statementsOf(s.broker, 'first-use'));
    // Assess
    expect(actions).toContain('dynamodb:UpdateItem');
    expect(actions.filter((a) => /^(iam|sts|sns|lambda):/i.test(a))).toEqual([]);
  });

  it('creates the CloudTrail table over the trail, projecting the listed accounts', () => {
    // Act
    const tables = Object.values<Json>(s.stateful.Resources).filter((r) => r.Type === 'AWS::Glue::Table');
    // Assess
    expect(tables).toHaveLength(1);
    const params = resolve(tables[0].Properties.TableInput.Parameters);
    expect(params['projection.account.values']).toBe([HUB, B, C].join(','));
    expect(params['projection.region.values']).toBe(`${REGION},us-east-1`);
    expect(params['storage.location.template']).toBe(
      `${ATHENA.trailLocation}/\${account}/CloudTrail/\${region}/\${date}`,
    );
  });

  it('passes cdk-nag AwsSolutions', () => {
    // Assess
    expectNagClean(s);
  });
});

describe('alert topic and overdue alarm', () => {
  let outdir: string;
  let s: Synthesized;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'jit-alerts-'));
    s = synthesize(testConfig(), outdir);
  }, SYNTH_TIMEOUT);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  const topicId = () => {
    const ids = Object.keys(s.broker.Resources).filter(
      (k) => s.broker.Resources[k].Type === 'AWS::SNS::Topic',
    );
    expect(ids).toHaveLength(1);
    return ids[0] as string;
  };

  it('encrypts the alert topic with a rotated customer managed key and refuses publishing without TLS', () => {
    // Prepare
    const topic = s.broker.Resources[topicId()].Properties;
    // Act
    const key = s.broker.Resources[topic.KmsMasterKeyId['Fn::GetAtt'][0]];
    const policies = Object.values<Json>(s.broker.Resources).filter(
      (r) => r.Type === 'AWS::SNS::TopicPolicy' && r.Properties.Topics.some((t: Json) => t.Ref === topicId()),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    // Assess
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const keyStatements = key.Properties.KeyPolicy.Statement;
    expect(keyStatements).toContainEqual(
      expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' } }),
    );
  });

  it('outputs the alert topic ARN', () => {
    // Assess
    expect(s.broker.Outputs.AlertTopicArn.Value).toEqual({ Ref: topicId() });
  });

  it('alarms on one overdue break-glass review in a 5-minute period and publishes to the alert topic', () => {
    // Act
    const alarms = Object.entries<Json>(s.broker.Resources).filter(
      ([id, r]) => r.Type === 'AWS::CloudWatch::Alarm' && id.startsWith('BreakGlassReviewOverdueAlarm'),
    );
    // Assess
    expect(alarms).toHaveLength(1);
    const alarm = (alarms[0] as [string, Json])[1].Properties;
    expect(alarm).toMatchObject({
      Namespace: 'JitBroker',
      MetricName: 'BreakGlassReviewsOverdue',
      Dimensions: [{ Name: 'Broker', Value: BROKER_STACK }],
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topicId() }],
    });
    expect(s.built.broker.alarms).toContain(s.built.broker.review.overdueAlarm);
  });

  it('lets the review function read the event history in its own account (single-account mode)', () => {
    // Act
    const statements = statementsOf(s.broker, 'review');
    // Assess
    expect(resourcesFor(statements, 'cloudtrail:LookupEvents')).toEqual(['*']);
    expect(allowedActions(statements).filter((a) => /^(iam|sts|athena):/.test(a))).toEqual([]);
    expect(Object.values<Json>(s.stateful.Resources).some((r) => r.Type === 'AWS::Glue::Table')).toBe(false);
  });

  it('passes cdk-nag AwsSolutions, LookupEvents on "*" acknowledged with its reason', () => {
    // Act
    const lookup = s.nag.suppressedViolations.filter(
      (v: Json) =>
        String(v.ruleName ?? v.rule ?? '').includes('IAM5') &&
        JSON.stringify(v).includes('ReviewFunction') &&
        /LookupEvents/.test(String(v.reason)),
    );
    // Assess
    expectNagClean(s);
    expect(lookup.length).toBeGreaterThan(0);
  });
});
