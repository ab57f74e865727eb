import { Stack, Token } from 'aws-cdk-lib';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeWildcard } from './acknowledge.ts';

/**
 * The Hive JSON SerDe reads the records `CloudTrailInputFormat` takes out of each log file's `Records`
 * array: what Athena documents for CloudTrail tables today (the older `com.amazon.emr.hive.serde.
 * CloudTrailSerde` is no longer in Athena's list of SerDes for CloudTrail logs).
 */
export const CLOUDTRAIL_SERDE = 'org.apache.hive.hcatalog.data.JsonSerDe';
export const CLOUDTRAIL_INPUT_FORMAT = 'com.amazon.emr.cloudtrail.CloudTrailInputFormat';
export const CLOUDTRAIL_OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';

/** `userIdentity`, nested as CloudTrail writes it (`sessioncontext.sourceidentity` is the JIT requester). */
const USER_IDENTITY = [
  'struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,',
  'username:string,onbehalfof:struct<userid:string,identitystorearn:string>,',
  'sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,',
  'sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>,',
  'sourceidentity:string,ec2roledelivery:string,',
  'webidfederationdata:struct<federatedprovider:string,attributes:map<string,string>>>>',
].join('');

/**
 * The columns of a CloudTrail record, lower-case as Athena reads them. Objects whose shape varies per
 * service (`requestparameters`, `responseelements`, …) stay JSON text.
 */
export const CLOUDTRAIL_COLUMNS: readonly { readonly name: string; readonly type: string }[] = (
  [
    ['eventversion', 'string'],
    ['useridentity', USER_IDENTITY],
    ['eventtime', 'string'],
    ['eventsource', 'string'],
    ['eventname', 'string'],
    ['awsregion', 'string'],
    ['sourceipaddress', 'string'],
    ['useragent', 'string'],
    ['errorcode', 'string'],
    ['errormessage', 'string'],
    ['requestparameters', 'string'],
    ['responseelements', 'string'],
    ['additionaleventdata', 'string'],
    ['requestid', 'string'],
    ['eventid', 'string'],
    ['readonly', 'string'],
    ['resources', 'array<struct<arn:string,accountid:string,type:string>>'],
    ['eventtype', 'string'],
    ['apiversion', 'string'],
    ['recipientaccountid', 'string'],
    ['serviceeventdetails', 'string'],
    ['sharedeventid', 'string'],
    ['vpcendpointid', 'string'],
    ['vpcendpointaccountid', 'string'],
    ['eventcategory', 'string'],
    [
      'addendum',
      'struct<reason:string,updatedfields:string,originalrequestid:string,originaleventid:string>',
    ],
    ['sessioncredentialfromconsole', 'string'],
    ['edgedevicedetails', 'string'],
    ['tlsdetails', 'struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>'],
  ] as const
).map(([name, type]) => ({ name, type }));

/** The partition columns, in the order of the trail's S3 keys: `<account>/CloudTrail/<region>/<yyyy/MM/dd>`. */
export const CLOUDTRAIL_PARTITIONS = ['account', 'region', 'date'] as const;

const GLUE_NAME = /^[a-z0-9_]{1,128}$/;
const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const PROJECTION_DATE = /^\d{4}\/\d{2}\/\d{2}$/;

/** Props of {@link CloudTrailTable}. */
export interface CloudTrailTableProps {
  /**
   * The Glue database the construct creates.
   * @default 'jit_audit'
   */
  readonly database?: string;
  /**
   * The table's name.
   * @default 'cloudtrail'
   */
  readonly table?: string;
  /**
   * The organization trail's prefix up to and including the organization id
   * (`s3://org-trail-bucket/AWSLogs/o-abc123def4`): the accounts' folders are right under it.
   */
  readonly trailLocation: string;
  /** The account ids the table projects (the config's `accounts`, or the hub's own account). */
  readonly accounts: readonly string[];
  /** The regions the table projects (the config's `audit.regions`). */
  readonly regions: readonly string[];
  /**
   * The first day the date projection covers (`yyyy/MM/dd`).
   * @default '2025/01/01'
   */
  readonly projectionStartDate?: string;
}

/**
 * The Glue database and the Athena table over the organization trail in S3, with partition projection on
 * account, region and day: no crawler, no `ALTER TABLE ADD PARTITION`, and a query that names an account and
 * a day range reads those prefixes only.
 *
 * The account is an `enum` projection of the configured accounts rather than `injected`: an injected column
 * makes every query without `account = '…'` fail (an auditor's ad-hoc query included), while the enum also
 * keeps the table to the accounts the broker grants in. Adding an account means changing the config and
 * deploying, which granting in it requires anyway.
 */
export class CloudTrailTable extends Construct {
  public readonly database: CfnDatabase;
  public readonly table: CfnTable;
  public readonly databaseName: string;
  public readonly tableName: string;
  /** The trail prefix, without a trailing slash. */
  public readonly trailLocation: string;

  constructor(scope: Construct, id: string, props: CloudTrailTableProps) {
    super(scope, id);
    this.databaseName = props.database ?? 'jit_audit';
    this.tableName = props.table ?? 'cloudtrail';
    const start = props.projectionStartDate ?? '2025/01/01';
    validate(this.databaseName, this.tableName, props, start);
    this.trailLocation = props.trailLocation.replace(/\/+$/, '');
    const account = Stack.of(this).account;
    this.database = new CfnDatabase(this, 'Database', {
      catalogId: account,
      databaseInput: {
        name: this.databaseName,
        description: 'JIT broker audit review: CloudTrail of the organization trail',
      },
    });
    this.table = new CfnTable(this, 'Table', {
      catalogId: account,
      databaseName: this.databaseName,
      tableInput: {
        name: this.tableName,
        description: 'Organization trail records, partition-projected by account, region and day',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          classification: 'cloudtrail',
          'projection.enabled': 'true',
          'projection.account.type': 'enum',
          'projection.account.values': props.accounts.join(','),
          'projection.region.type': 'enum',
          'projection.region.values': props.regions.join(','),
          'projection.date.type': 'date',
          'projection.date.format': 'yyyy/MM/dd',
          'projection.date.range': `${start},NOW`,
          'projection.date.interval': '1',
          'projection.date.interval.unit': 'DAYS',
          // CloudTrail's own key layout under the organization id; `${…}` are Athena's, not CloudFormation's.
          'storage.location.template': `${this.trailLocation}/\${account}/CloudTrail/\${region}/\${date}`,
        },
        partitionKeys: CLOUDTRAIL_PARTITIONS.map((name) => ({ name, type: 'string' })),
        storageDescriptor: {
          location: `${this.trailLocation}/`,
          inputFormat: CLOUDTRAIL_INPUT_FORMAT,
          outputFormat: CLOUDTRAIL_OUTPUT_FORMAT,
          serdeInfo: { serializationLibrary: CLOUDTRAIL_SERDE },
          columns: CLOUDTRAIL_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
        },
      },
    });
    this.table.addResourceDependency(this.database);
  }

  /** {@link grantCloudTrailQuery} on this table and its trail. */
  grantQuery(
    role: IRole,
    access: Pick<CloudTrailQueryAccess, 'workgroup' | 'outputLocation' | 'trailKeyArn'>,
  ): void {
    grantCloudTrailQuery(role, {
      ...access,
      database: this.databaseName,
      table: this.tableName,
      trailLocation: this.trailLocation,
    });
  }
}

/** Refuses props that would make a table Athena cannot read (tokens are left to CloudFormation). */
function validate(database: string, table: string, props: CloudTrailTableProps, start: string): void {
  const fail = (what: string) => {
    throw new Error(`CloudTrailTable: ${what}`);
  };
  if (!GLUE_NAME.test(database) || !GLUE_NAME.test(table)) {
    fail('database and table must be 1-128 lower-case letters, digits or _');
  }
  if (!S3_URI.test(props.trailLocation)) fail('trailLocation must be an s3:// URI');
  if (!PROJECTION_DATE.test(start)) fail('projectionStartDate must be yyyy/MM/dd');
  const literal = (v: string) => !Token.isUnresolved(v);
  if (props.accounts.length === 0) fail('accounts must name at least one account');
  const badAccount = props.accounts.find((a) => literal(a) && !ACCOUNT.test(a));
  if (badAccount !== undefined) fail(`account "${badAccount}" is not a 12-digit account id`);
  if (props.regions.length === 0) fail('regions must name at least one region');
  const badRegion = props.regions.find((r) => literal(r) && !REGION.test(r));
  if (badRegion !== undefined) fail(`region "${badRegion}" is not an AWS region name`);
}

/** What a role needs to query the CloudTrail table (the config's `audit.athena`, or the same by hand). */
export interface CloudTrailQueryAccess {
  readonly database: string;
  readonly table: string;
  readonly workgroup: string;
  /** Where Athena writes the results (`s3://bucket/prefix/`). */
  readonly outputLocation: string;
  /**
   * The trail prefix the table reads. Absent (a table that exists already): reads of the trail objects are
   * not granted here, the trail's owner grants them.
   */
  readonly trailLocation?: string;
  /**
   * The KMS key the trail's log files are encrypted with, when they are (SSE-KMS trails).
   * @default no key grant
   */
  readonly trailKeyArn?: string;
}

/** `s3://bucket/some/prefix/` → bucket and prefix without slashes at its ends. */
function s3Parts(uri: string): { bucket: string; prefix: string } {
  const rest = uri.slice('s3://'.length);
  const slash = rest.indexOf('/');
  return slash < 0
    ? { bucket: rest, prefix: '' }
    : { bucket: rest.slice(0, slash), prefix: rest.slice(slash + 1).replace(/^\/+|\/+$/g, '') };
}

/**
 * Grants `role` what the audit review's Athena query needs and nothing else: run and read queries in the
 * workgroup (stop included, for one that outruns the review), the table's Glue metadata, reads of the trail
 * under its prefix, and the query results under the output prefix. The trail bucket is usually in a log
 * archive account: its bucket policy (and key policy) must also allow the role.
 */
export function grantCloudTrailQuery(role: IRole, access: CloudTrailQueryAccess): void {
  const stack = Stack.of(role);
  const s3 = (resource: string) => `arn:${stack.partition}:s3:::${resource}`;
  const objects = (parts: { bucket: string; prefix: string }) =>
    s3(parts.prefix ? `${parts.bucket}/${parts.prefix}/*` : `${parts.bucket}/*`);
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'AuditAthenaQuery',
      actions: [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:StopQueryExecution',
      ],
      resources: [
        stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: access.workgroup }),
      ],
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'AuditGlueTable',
      actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
      resources: [
        stack.formatArn({ service: 'glue', resource: 'catalog' }),
        stack.formatArn({ service: 'glue', resource: 'database', resourceName: access.database }),
        stack.formatArn({
          service: 'glue',
          resource: 'table',
          resourceName: `${access.database}/${access.table}`,
        }),
      ],
    }),
  );
  const output = s3Parts(access.outputLocation);
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'AuditAthenaResults',
      actions: ['s3:PutObject', 's3:GetObject'],
      resources: [objects(output)],
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'AuditAthenaResultsBucket',
      actions: ['s3:ListBucket', 's3:GetBucketLocation'],
      resources: [s3(output.bucket)],
    }),
  );
  acknowledgeWildcard(
    role,
    objects(output),
    'Athena writes one result object per query execution under the output prefix: names not known in advance.',
  );
  if (access.trailLocation) {
    const trail = s3Parts(access.trailLocation);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'AuditTrailObjects',
        actions: ['s3:GetObject'],
        resources: [objects(trail)],
      }),
    );
    // A prefix condition on ListBucket alone: GetBucketLocation has no s3:prefix key, so it would never match.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'AuditTrailList',
        actions: ['s3:ListBucket'],
        resources: [s3(trail.bucket)],
        ...(trail.prefix ? { conditions: { StringLike: { 's3:prefix': [`${trail.prefix}/*`] } } } : {}),
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'AuditTrailBucket',
        actions: ['s3:GetBucketLocation'],
        resources: [s3(trail.bucket)],
      }),
    );
    acknowledgeWildcard(
      role,
      objects(trail),
      'CloudTrail writes one log file per account, region and few minutes under the trail prefix; the query ' +
        'reads those of one account and a few days only.',
    );
  }
  if (access.trailKeyArn) {
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'AuditTrailKey',
        actions: ['kms:Decrypt'],
        resources: [access.trailKeyArn],
      }),
    );
  }
}
