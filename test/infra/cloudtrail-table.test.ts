import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Aws, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import {
  CloudTrailTable,
  type CloudTrailTableProps,
  grantCloudTrailQuery,
} from '../../lib/cloudtrail-table.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped.
type Json = any;

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const PROPS: CloudTrailTableProps = {
  trailLocation: 's3://org-trail-bucket/AWSLogs/o-abc123def4/',
  accounts: ['111122223333', '444455556666'],
  regions: ['eu-west-1', 'us-east-1'],
  projectionStartDate: '2025/06/01',
};

/** A small stack holding the table (and a role when `grant` is set), with its template. */
function synth(props: CloudTrailTableProps = PROPS, grant = false) {
  const app = new App();
  const stack = new Stack(app, 'Audit', { env: { account: '999988887777', region: 'eu-west-1' } });
  const table = new CloudTrailTable(stack, 'CloudTrail', props);
  if (grant) {
    const role = new Role(stack, 'Reviewer', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    table.grantQuery(role, {
      workgroup: 'jit-review',
      outputLocation: 's3://jit-athena-results/reviews/',
      trailKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abcd-1234',
    });
  }
  return { app, stack, table, template: Template.fromStack(stack) };
}

/** Every Allow statement of the stack's policies, by Sid. */
function statements(template: Template): Record<string, Json> {
  const all = Object.values<Json>(template.findResources('AWS::IAM::Policy')).flatMap((p) =>
    asArray<Json>(p.Properties.PolicyDocument.Statement),
  );
  return Object.fromEntries(all.map((s) => [s.Sid, s]));
}

describe('CloudTrailTable', () => {
  it('creates the database and an external table over the trail with its SerDe and formats', () => {
    // Act
    const { template } = synth();
    // Assess
    template.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: '999988887777',
      DatabaseInput: { Name: 'jit_audit' },
    });
    template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'jit_audit',
      TableInput: {
        Name: 'cloudtrail',
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: [
          { Name: 'account', Type: 'string' },
          { Name: 'region', Type: 'string' },
          { Name: 'date', Type: 'string' },
        ],
        StorageDescriptor: {
          Location: 's3://org-trail-bucket/AWSLogs/o-abc123def4/',
          InputFormat: 'com.amazon.emr.cloudtrail.CloudTrailInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          SerdeInfo: { SerializationLibrary: 'org.apache.hive.hcatalog.data.JsonSerDe' },
        },
      },
    });
    const table = Object.values<Json>(template.findResources('AWS::Glue::Table'))[0];
    expect(table.DependsOn).toEqual([expect.stringMatching(/Database/)]);
  });

  it('projects account and region as enums and the day as a date, on CloudTrail key layout', () => {
    // Act
    const { template } = synth();
    // Assess
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: {
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.account.type': 'enum',
          'projection.account.values': '111122223333,444455556666',
          'projection.region.type': 'enum',
          'projection.region.values': 'eu-west-1,us-east-1',
          'projection.date.type': 'date',
          'projection.date.format': 'yyyy/MM/dd',
          'projection.date.range': '2025/06/01,NOW',
          'projection.date.interval': '1',
          'projection.date.interval.unit': 'DAYS',
          'storage.location.template':
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's placeholders, not JavaScript's.
            's3://org-trail-bucket/AWSLogs/o-abc123def4/${account}/CloudTrail/${region}/${date}',
        }),
      },
    });
  });

  it('has the CloudTrail columns, the session source identity among them', () => {
    // Act
    const { template } = synth();
    // Assess
    const table = Object.values<Json>(template.findResources('AWS::Glue::Table'))[0];
    const columns: { Name: string; Type: string }[] = table.Properties.TableInput.StorageDescriptor.Columns;
    const byName = Object.fromEntries(columns.map((c) => [c.Name, c.Type]));
    for (const name of [
      'eventid',
      'eventtime',
      'eventsource',
      'eventname',
      'eventcategory',
      'recipientaccountid',
    ]) {
      expect(byName[name]).toBe('string');
    }
    expect(byName.resources).toBe('array<struct<arn:string,accountid:string,type:string>>');
    expect(byName.useridentity).toContain('accesskeyid:string');
    expect(byName.useridentity).toMatch(/sessioncontext:struct<.*sourceidentity:string/);
    expect(byName.useridentity).toContain(
      'sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>',
    );
    // Partition columns are not data columns.
    expect(Object.keys(byName)).not.toContain('account');
  });

  it('takes tokens for the hub account and the broker region', () => {
    // Act
    const { template } = synth({ ...PROPS, accounts: [Aws.ACCOUNT_ID], regions: [Aws.REGION, 'us-east-1'] });
    // Assess
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: {
        Parameters: Match.objectLike({
          'projection.account.values': { Ref: 'AWS::AccountId' },
          'projection.region.values': { 'Fn::Join': ['', [{ Ref: 'AWS::Region' }, ',us-east-1']] },
        }),
      },
    });
  });

  it('refuses names, accounts, regions, locations and dates Athena could not use', () => {
    // Act
    const bad: Partial<CloudTrailTableProps>[] = [
      { database: 'jit-audit' },
      { table: 'CloudTrail' },
      { trailLocation: 'https://org-trail-bucket/AWSLogs' },
      { accounts: [] },
      { accounts: ['1111'] },
      { regions: ['Europe'] },
      { projectionStartDate: '2025-01-01' },
    ];
    // Assess
    for (const props of bad) expect(() => synth({ ...PROPS, ...props })).toThrow(/^CloudTrailTable: /);
  });

  it('grants the reviewer the workgroup, the Glue table, the trail prefix and the output prefix only', () => {
    // Act
    const { template } = synth(PROPS, true);
    // Assess
    const s = statements(template);
    expect(s.AuditAthenaQuery.Action).toEqual([
      'athena:StartQueryExecution',
      'athena:GetQueryExecution',
      'athena:GetQueryResults',
      'athena:StopQueryExecution',
    ]);
    expect(JSON.stringify(s.AuditAthenaQuery.Resource)).toContain(
      ':athena:eu-west-1:999988887777:workgroup/jit-review',
    );
    expect(s.AuditGlueTable.Action).toEqual(['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions']);
    const glue = JSON.stringify(s.AuditGlueTable.Resource);
    expect(glue).toContain(':glue:eu-west-1:999988887777:catalog');
    expect(glue).toContain(':glue:eu-west-1:999988887777:database/jit_audit');
    expect(glue).toContain(':glue:eu-west-1:999988887777:table/jit_audit/cloudtrail');
    expect(s.AuditTrailObjects.Action).toBe('s3:GetObject');
    expect(JSON.stringify(s.AuditTrailObjects.Resource)).toContain(
      ':s3:::org-trail-bucket/AWSLogs/o-abc123def4/*',
    );
    expect(s.AuditTrailList.Action).toBe('s3:ListBucket');
    expect(s.AuditTrailList.Condition).toEqual({ StringLike: { 's3:prefix': ['AWSLogs/o-abc123def4/*'] } });
    expect(s.AuditTrailBucket.Action).toBe('s3:GetBucketLocation');
    expect(s.AuditAthenaResults.Action).toEqual(['s3:PutObject', 's3:GetObject']);
    expect(JSON.stringify(s.AuditAthenaResults.Resource)).toContain(':s3:::jit-athena-results/reviews/*');
    expect(s.AuditAthenaResultsBucket.Action).toEqual(['s3:ListBucket', 's3:GetBucketLocation']);
    expect(s.AuditTrailKey).toMatchObject({
      Action: 'kms:Decrypt',
      Resource: 'arn:aws:kms:eu-west-1:123456789012:key/abcd-1234',
    });
  });

  it('grants no trail reads for a table that exists already (no trail location)', () => {
    // Prepare
    const app = new App();
    const stack = new Stack(app, 'Audit', { env: { account: '999988887777', region: 'eu-west-1' } });
    const role = new Role(stack, 'Reviewer', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    // Act
    grantCloudTrailQuery(role, {
      database: 'org_audit',
      table: 'trail',
      workgroup: 'primary',
      outputLocation: 's3://jit-athena-results',
    });
    // Assess
    const s = statements(Template.fromStack(stack));
    expect(Object.keys(s).sort()).toEqual([
      'AuditAthenaQuery',
      'AuditAthenaResults',
      'AuditAthenaResultsBucket',
      'AuditGlueTable',
    ]);
    expect(JSON.stringify(s.AuditAthenaResults.Resource)).toContain(':s3:::jit-athena-results/*');
  });

  it('acknowledges its wildcards next to the grant: cdk-nag finds nothing left', () => {
    // Prepare
    const outdir = mkdtempSync(join(tmpdir(), 'jit-nag-trail-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'Audit', { env: { account: '999988887777', region: 'eu-west-1' } });
    const role = new Role(stack, 'Reviewer', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    new CloudTrailTable(stack, 'CloudTrail', PROPS).grantQuery(role, {
      workgroup: 'jit-review',
      outputLocation: 's3://jit-athena-results/reviews/',
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // Act
    const run = () => app.synth();
    // Assess
    try {
      expect(run).not.toThrow();
      const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
      const nag = report.pluginReports.find((r: Json) => r.pluginName === 'AwsSolutions');
      expect(nag.violations).toEqual([]);
      expect(nag.suppressedViolations.map((v: Json) => v.ruleName).sort()).toEqual([
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::jit-athena-results/reviews/*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::org-trail-bucket/AWSLogs/o-abc123def4/*]',
      ]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
