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

/** Every action the evidence function's role is allowed. */
function evidenceActions(template: Template): string[] {
  const fns = Object.values<Json>(
    template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { JIT_HANDLER: 'evidence' } } },
    }),
  );
  expect(fns).toHaveLength(1);
  const role = fns[0].Properties.Role['Fn::GetAtt'][0] as string;
  const policies = Object.values<Json>(template.findResources('AWS::IAM::Policy')).filter((p) =>
    asArray<Json>(p.Properties.Roles).some((r) => r.Ref === role),
  );
  return policies.flatMap((p) =>
    asArray<Json>(p.Properties.PolicyDocument.Statement)
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => asArray<string>(s.Action)),
  );
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
});
