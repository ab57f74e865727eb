/**
 * Example policy-as-code config for the JIT broker. `cdk synth` and `npm start` validate it and refuse to
 * go on with a message naming the field at fault. Copy it, edit it, and pass yours with
 * `npx cdk synth -c config=path/to/my.config.ts` (or a .json file with the same fields).
 */
import { defineConfig } from '#core/policy/config.ts';

/** The hub account: the broker runs here, and it is a target account too (through its own grantor). */
const ACCOUNT = '111122223333';
/** A workload account the broker grants in through the `JitGrantor` role deployed there. */
const WORKLOAD = '444455556666';

export default defineConfig({
  // How long a request may wait for its approvals before it ends APPROVAL_EXPIRED (seconds).
  approvalWindowSeconds: 3600,
  // Duration used when a request names none (capped by the rule's maximum), and the global bounds.
  defaultDurationSeconds: 900,
  minDurationSeconds: 60,
  maxDurationSeconds: 43_200,
  // Added to the built-in deny list (`*`, `iam:*`, `sts:*`, `organizations:*`, `account:*`), never
  // replacing it. A rule that lists an overlapping action fails validation.
  globalDenyActions: ['kms:ScheduleKeyDeletion', 'cloudtrail:*'],
  // Every account a target may live in. Each runs a `JitGrantor` role (`npx cdk deploy JitGrantor-<id>`,
  // or the StackSet below) that only the broker's grant, revoke and sweeper roles may assume, with the
  // ExternalId.
  accounts: [
    { id: ACCOUNT, name: 'security-tooling' },
    { id: WORKLOAD, name: 'analytics-prod' },
  ],
  // The account the broker itself runs in (the grantors trust its roles); `-c hubAccount=<id>` overrides.
  hubAccountId: ACCOUNT,
  // Required with `accounts`: at least 16 random characters (`openssl rand -hex 16`), one per installation.
  externalId: 'jit-example-9f2c4b7a1e6d3c58',
  // Optional: the grantors also require the caller to be in this organization (aws:PrincipalOrgID).
  // organizationId: 'o-exampleorgid1',
  // Optional: deploy the grantor to whole OUs with one service-managed StackSet (from the management or a
  // delegated-admin account) instead of one stack per account. IAM is global: one region.
  // grantorStackSet: { organizationalUnitIds: ['ou-ab12-cdefgh34'], regions: ['eu-west-1'] },
  // Principals the broker must never modify, whatever a rule says (its own roles, the grantor roles,
  // SSO-reserved and service-linked roles are always protected). `*` in the account: any listed account.
  protectedPrincipals: ['arn:aws:iam::*:role/OrganizationAccountAccessRole'],
  // The write-once evidence archive (S3 Object Lock on every audit event). `governance`: a role with
  // s3:BypassGovernanceRetention may still delete early; `compliance`: nobody may, not even the root user,
  // until `retentionDays` have passed.
  evidence: { mode: 'governance', retentionDays: 400 },
  // Who is one person, when the last segment of the ARN (the session or user name) does not say so: every
  // principal matching a person's patterns is that person for self-approval and quorum. Alice requests as
  // `alice` and approves as `alice-sre`: she can never approve her own request, nor count twice.
  people: {
    alice: [
      `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Developer_*/alice`,
      `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_SRE_*/alice-sre`,
    ],
  },
  rules: [
    {
      // Read access to the app's data bucket and tables, approved by one on-call SRE.
      id: 'app-data-read',
      description: 'Developers may read application data on the app roles, with one SRE approval',
      // Who may ask: IAM principal ARN patterns as API Gateway reports them (assumed-role session ARNs).
      requesters: [`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Developer_*/*`],
      // Which principals the inline policy may be put on: IAM role or user ARN patterns.
      targets: [`arn:aws:iam::${ACCOUNT}:role/app-*`],
      // The widest actions and resources a request may ask for (requests may narrow them).
      actions: ['s3:GetObject', 's3:ListBucket', 'dynamodb:GetItem', 'dynamodb:Query'],
      resources: [
        'arn:aws:s3:::app-data',
        'arn:aws:s3:::app-data/*',
        `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/app-*`,
      ],
      maxDurationSeconds: 3600,
      approval: {
        approvers: [`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_SRE_*/*`],
        minApprovals: 1,
      },
    },
    {
      // Production writes need two distinct approvers.
      id: 'app-data-write',
      requesters: [`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_SRE_*/*`],
      targets: [`arn:aws:iam::${ACCOUNT}:role/app-*`],
      actions: ['s3:PutObject', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resources: ['arn:aws:s3:::app-data/*', `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/app-*`],
      maxDurationSeconds: 1800,
      approval: {
        approvers: [`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_SecurityLead_*/*`],
        minApprovals: 2,
      },
    },
    {
      // STS credentials instead of an inline policy: the broker assumes a dedicated role whose trust
      // policy admits only the broker's grant role, with a session policy scoped to the request. At the end
      // the session is denied by its aws:userid, so credentials already handed out stop working.
      id: 'release-credentials',
      kind: 'credentials',
      requesters: [`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_SRE_*/*`],
      targets: [`arn:aws:iam::${ACCOUNT}:role/jit-release-*`],
      actions: ['s3:PutObject', 'cloudformation:DescribeStacks'],
      resources: [
        'arn:aws:s3:::release-artifacts/*',
        `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/app-*`,
      ],
      // Role chaining caps STS sessions at one hour.
      maxDurationSeconds: 3600,
      approval: {
        approvers: [`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_SecurityLead_*/*`],
        minApprovals: 1,
      },
    },
    {
      // A target in another listed account: the broker writes the inline policy there through that
      // account's grantor role. `arn:aws:iam::*:role/...` would mean "in any listed account".
      id: 'analytics-read',
      requesters: [`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Developer_*/*`],
      targets: [`arn:aws:iam::${WORKLOAD}:role/analytics-*`],
      actions: ['athena:GetQueryResults', 's3:GetObject'],
      resources: [
        `arn:aws:athena:eu-west-1:${WORKLOAD}:workgroup/analytics`,
        'arn:aws:s3:::analytics-results/*',
      ],
      maxDurationSeconds: 3600,
      approval: {
        approvers: [`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_SRE_*/*`],
        minApprovals: 1,
      },
    },
    {
      // Low risk: reading logs is approved automatically, still time-boxed and audited.
      id: 'logs-read-auto',
      requesters: [`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Developer_*/*`],
      targets: [`arn:aws:iam::${ACCOUNT}:role/ops-*`],
      actions: ['logs:GetLogEvents', 'logs:FilterLogEvents', 'logs:DescribeLogStreams'],
      resources: [`arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/app/*`],
      maxDurationSeconds: 1800,
      approval: 'auto',
    },
  ],
});
