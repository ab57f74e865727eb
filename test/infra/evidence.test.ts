import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBrokerApp } from '../../lib/app.ts';
import { EvidenceBucket } from '../../lib/evidence-bucket.ts';
import { StatefulStack } from '../../lib/stateful-stack.ts';
import { testConfig } from '../support/fakes.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped.
type Json = any;

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every Allow statement of the role of the function with this handler. */
function allowed(template: Template, handler = 'evidence'): Json[] {
  const fns = Object.values<Json>(
    template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { JIT_HANDLER: handler } } },
    }),
  );
  expect(fns).toHaveLength(1);
  const role = fns[0].Properties.Role['Fn::GetAtt'][0] as string;
  const policies = Object.values<Json>(template.findResources('AWS::IAM::Policy')).filter((p) =>
    asArray<Json>(p.Properties.Roles).some((r) => r.Ref === role),
  );
  return policies.flatMap((p) =>
    asArray<Json>(p.Properties.PolicyDocument.Statement).filter((s) => s.Effect === 'Allow'),
  );
}

/** Every action the role of the function with this handler is allowed. */
function evidenceActions(template: Template, handler = 'evidence'): string[] {
  return allowed(template, handler).flatMap((s) => asArray<string>(s.Action));
}

/** The S3 statements of a role as `action → key patterns` (the resource's tail after the bucket name). */
function s3Grants(template: Template, handler: string): Record<string, string[]> {
  const grants: Record<string, string[]> = {};
  for (const s of allowed(template, handler)) {
    for (const action of asArray<string>(s.Action).filter((a) => a.startsWith('s3:'))) {
      const tails = asArray<Json>(s.Resource).map((r) => {
        const text = JSON.stringify(r);
        const m = /\/(\w+)\/\*"/.exec(text);
        return m ? `${m[1]}/*` : 'bucket';
      });
      grants[action] = [...(grants[action] ?? []), ...tails].sort();
    }
  }
  return grants;
}

describe('evidence archive', () => {
  let outdir: string;
  let broker: Template;
  let stateful: Template;

  beforeAll(() => {
    // Prepare: the whole app, synthesized with cdk-nag (an unacknowledged finding throws)
    outdir = mkdtempSync(join(tmpdir(), 'jit-evidence-infra-'));
    const built = buildBrokerApp({ policy: testConfig(), nag: true, appProps: { outdir } });
    built.app.synth();
    const read = (stack: Stack) =>
      Template.fromJSON(JSON.parse(readFileSync(join(outdir, stack.templateFile), 'utf8')));
    broker = read(built.broker);
    stateful = read(built.stateful);
  }, 180_000);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('locks every object in governance mode for 400 days by default, versioned, KMS, TLS only, logged', () => {
    // Assess
    stateful.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 400 } },
      },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) }),
        ],
      },
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
    });
  });

  it('takes the configured mode and retention', () => {
    // Prepare
    const stack = new StatefulStack(new App(), 'Probe', {
      evidence: { mode: 'compliance', retentionDays: 2555 },
    });
    // Act
    const template = Template.fromStack(stack);
    // Assess
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } } },
    });
  });

  it('takes the mode and retention from the policy config (jit.config.ts `evidence`)', () => {
    // Prepare
    const policy = testConfig({ evidence: { mode: 'compliance', retentionDays: 730 } });
    // Act
    const built = buildBrokerApp({
      policy,
      nag: false,
      appProps: { context: { 'aws:cdk:bundling-stacks': [] } },
    });
    const template = Template.fromStack(built.stateful);
    // Assess
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 730 } } },
    });
  });

  it('refuses a config retention beyond 100 years or an unknown mode, naming the field', () => {
    // Act
    const tooLong = () => testConfig({ evidence: { mode: 'governance', retentionDays: 40_000 } });
    const unknown = () => testConfig({ evidence: { mode: 'legal-hold' as never, retentionDays: 30 } });
    // Assess
    expect(tooLong).toThrow(/evidence\.retentionDays/);
    expect(unknown).toThrow(/evidence\.mode/);
  });

  it('refuses a retention that is not a whole number of days', () => {
    // Act
    const build = () => new EvidenceBucket(new Stack(new App(), 'Probe'), 'Evidence', { retentionDays: 0.5 });
    // Assess
    expect(build).toThrow(/retentionDays/);
  });

  it('streams new images of the table', () => {
    // Assess
    stateful.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
  });

  it('never skips a failed batch: bisect, partial failures, retries, then a DLQ that alarms', () => {
    // Assess
    broker.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 10,
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    const queues = broker.findResources('AWS::SQS::Queue');
    const [queueId] = Object.keys(queues);
    expect(Object.keys(queues)).toHaveLength(1);
    broker.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Threshold: 1,
    });
  });

  it('lets the evidence function put objects and nothing that deletes or unlocks them', () => {
    // Act
    const actions = evidenceActions(broker);
    // Assess
    const s3 = actions.filter((a) => a.startsWith('s3:'));
    expect(s3.sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    for (const a of actions) {
      expect(a).not.toMatch(/Delete|Retention|LegalHold|Bypass|\*$/);
    }
  });

  it('lets the evidence function put events and head markers only', () => {
    // Assess
    expect(s3Grants(broker, 'evidence')).toEqual({
      's3:PutObject': ['events/*', 'heads/*'],
      's3:GetObject': ['events/*', 'heads/*'],
    });
  });

  it('runs the digest function daily at 00:30 UTC: it writes digests/*, reads heads/*, lists both, deletes nothing', () => {
    // Assess
    const fns = broker.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { JIT_HANDLER: 'digest' } } },
    });
    const [fnId] = Object.keys(fns);
    broker.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(30 0 * * ? *)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] } })],
    });
    expect(s3Grants(broker, 'digest')).toEqual({
      's3:PutObject': ['digests/*'],
      's3:GetObject': ['digests/*', 'heads/*'],
      's3:ListBucket': ['bucket'],
    });
    const list = allowed(broker, 'digest').find((s) => asArray<string>(s.Action).includes('s3:ListBucket'));
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['heads/*', 'digests/*'] } });
    for (const a of evidenceActions(broker, 'digest')) {
      expect(a).not.toMatch(/Delete|Retention|LegalHold|Bypass|\*$/);
    }
  });
});
