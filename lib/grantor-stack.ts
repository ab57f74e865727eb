import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  App,
  CfnOutput,
  DefaultStackSynthesizer,
  Stack,
  type StackProps,
  Token,
  Validations,
} from 'aws-cdk-lib';
import { CfnStackSet } from 'aws-cdk-lib/aws-cloudformation';
import { CfnManagedPolicy, CfnRole } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import {
  ACCOUNT_ID_RE,
  DEFAULT_GRANTOR_ROLE_NAME,
  listedAccounts,
  patternsInAccount,
} from '#core/policy/accounts.ts';
import type { PolicyConfig } from '#core/policy/config.ts';
import { acknowledgeWildcard } from './acknowledge.ts';
import { ActivityForwarder, activityBusArn } from './activity-events.ts';
import {
  brokerRoleName,
  credentialRolePatterns,
  GRANTOR_CALLERS,
  targetPatterns,
} from './broker-function.ts';

/**
 * Actions no grantor ever needs, denied on every resource whatever an Allow (its own, or one attached to it
 * later) says: each would let a compromised broker make itself or someone else more powerful.
 */
/** The RoleSessionName of the review function on the grantors (`jit-<handler>`, see grantorSessionName). */
const REVIEW_SESSION = 'jit-review';

export const GRANTOR_DENIED_ACTIONS = [
  'iam:CreateRole',
  'iam:CreateUser',
  'iam:CreatePolicy',
  'iam:CreatePolicyVersion',
  'iam:SetDefaultPolicyVersion',
  'iam:Attach*',
  'iam:PassRole',
  'iam:UpdateAssumeRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePermissionsBoundary',
  'iam:PutUserPermissionsBoundary',
  'iam:DeleteUserPermissionsBoundary',
  'iam:PutGroupPolicy',
  'iam:AddUserToGroup',
  'iam:CreateAccessKey',
  'iam:CreateLoginProfile',
  'iam:UpdateLoginProfile',
  'sts:AssumeRole',
] as const;

/** Role names (after `role/`) no grantor may touch in any account, whatever the config says. */
export const ALWAYS_GUARDED_ROLES = [
  'aws-reserved/sso.amazonaws.com/*',
  'AWSReservedSSO_*',
  '*/AWSReservedSSO_*',
  'aws-service-role/*',
  'OrganizationAccountAccessRole',
  '*/OrganizationAccountAccessRole',
] as const;

/** Props of {@link GrantorRole}. */
export interface GrantorRoleProps {
  /** The validated policy config (targets, protected principals, ExternalId, organization). */
  readonly policy: PolicyConfig;
  /** The hub account, where the broker's grant, revoke, sweeper and review roles live. */
  readonly hubAccount: string;
  /** The broker stack's name: its roles are `<name>-grant`, `<name>-revoke`, `<name>-sweeper`, `<name>-review`. */
  readonly brokerStackName: string;
  /** The grantor role's name in this account. */
  readonly roleName: string;
  /**
   * Keep the targets and protected principals of every account (a StackSet template: one template for
   * all accounts; another account's ARN is inert, as IAM calls only reach the caller's own account).
   * @default false: only this account's, and the `*` ones with this account filled in
   */
  readonly allAccounts?: boolean;
}

/** An IAM policy document as CloudFormation takes it. */
interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: Record<string, unknown>[];
}

/**
 * The guarded role of one target account that the broker assumes to grant there: it may only put, read,
 * delete and list inline policies on that account's target patterns, read credential roles, list roles
 * and users, and read the CloudTrail event history. An explicit Deny keeps it off itself, the broker's roles, SSO-reserved and service-linked
 * roles, OrganizationAccountAccessRole and the protected principals, and off every action that could
 * escalate; a permissions boundary with the same Allow caps whatever is attached to it later. Only the
 * broker's grant, revoke, sweeper and review roles may assume it, with the ExternalId (and from the
 * organization).
 */
export class GrantorRole extends Construct {
  public readonly role: CfnRole;
  public readonly boundary: CfnManagedPolicy;
  /** The identity policy (inline on the role). */
  public readonly identityPolicy: PolicyDocument;
  /** The trust policy. */
  public readonly trustPolicy: PolicyDocument;

  constructor(scope: Construct, id: string, props: GrantorRoleProps) {
    super(scope, id);
    if (!ACCOUNT_ID_RE.test(props.hubAccount)) {
      throw new Error(`GrantorRole: hubAccount must be a 12-digit account id (got "${props.hubAccount}")`);
    }
    if (!props.policy.accounts || !props.policy.externalId) {
      throw new Error('GrantorRole: the policy config lists no accounts (or no externalId)');
    }
    const stack = Stack.of(this);
    const account = stack.account;
    const partition = stack.partition;
    const iam = (resource: string) => `arn:${partition}:iam::${account}:${resource}`;
    const inAccount = (patterns: readonly string[]) =>
      patternsInAccount(patterns, account, { keepOtherAccounts: props.allAccounts ?? false });

    const allows = allowStatements({
      roles: inAccount(targetPatterns(props.policy, 'role')),
      users: inAccount(targetPatterns(props.policy, 'user')),
      credentialRoles: inAccount(credentialRolePatterns(props.policy)),
    });
    const boundaryName = `${props.roleName}-boundary`;
    const guarded = [
      iam(`role/${props.roleName}`),
      iam(`policy/${boundaryName}`),
      iam(`role/${props.brokerStackName}-*`),
      ...ALWAYS_GUARDED_ROLES.map((r) => iam(`role/${r}`)),
      ...inAccount(props.policy.protectedPrincipals),
    ];
    this.identityPolicy = {
      Version: '2012-10-17',
      Statement: [
        ...allows,
        {
          Sid: 'NeverTouchGuardedPrincipals',
          Effect: 'Deny',
          Action: 'iam:*',
          Resource: guarded,
        },
        {
          Sid: 'NeverEscalate',
          Effect: 'Deny',
          Action: [...GRANTOR_DENIED_ACTIONS],
          Resource: '*',
        },
        {
          // The audit review only reads CloudTrail: its session (the trust below pins its name) may do
          // nothing else here, so a compromised review function cannot write a policy.
          Sid: 'ReviewSessionReadsOnly',
          Effect: 'Deny',
          NotAction: 'cloudtrail:LookupEvents',
          Resource: '*',
          Condition: { StringLike: { 'aws:userid': `*:${REVIEW_SESSION}` } },
        },
      ],
    };
    const roleArn = (h: (typeof GRANTOR_CALLERS)[number]) =>
      `arn:${partition}:iam::${props.hubAccount}:role/${brokerRoleName(props.brokerStackName, h)}`;
    const writers = GRANTOR_CALLERS.filter((h) => h !== 'review').map(roleArn);
    const trustConditions = {
      'sts:ExternalId': props.policy.externalId,
      ...(props.policy.organizationId ? { 'aws:PrincipalOrgID': props.policy.organizationId } : {}),
    };
    this.trustPolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'BrokerFunctionsWithExternalId',
          Effect: 'Allow',
          Principal: { AWS: writers },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: trustConditions },
        },
        {
          Sid: 'AuditReviewWithExternalId',
          Effect: 'Allow',
          Principal: { AWS: roleArn('review') },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { ...trustConditions, 'sts:RoleSessionName': REVIEW_SESSION } },
        },
      ],
    };

    this.boundary = new CfnManagedPolicy(this, 'Boundary', {
      managedPolicyName: boundaryName,
      description: 'JIT grantor permissions boundary: the most the grantor role can ever do',
      policyDocument: { Version: '2012-10-17', Statement: allows },
    });
    this.role = new CfnRole(this, 'Role', {
      roleName: props.roleName,
      description: 'JIT broker grantor: puts and removes jit-* inline policies on target principals only',
      assumeRolePolicyDocument: this.trustPolicy,
      permissionsBoundary: this.boundary.ref,
      maxSessionDuration: 3600,
      policies: [{ policyName: 'jit-grantor', policyDocument: this.identityPolicy }],
    });

    const reasons: Record<string, string> = {
      '*': 'iam:ListRoles/ListUsers and cloudtrail:LookupEvents only (read-only, none has resource-level permissions), so the sweeper can find stray jit-* policies and the audit review can read the event history; every write is scoped to target patterns and denied on guarded principals.',
    };
    for (const s of allows) {
      for (const r of [s.Resource].flat() as string[]) {
        if (r === '*') continue;
        reasons[r] =
          'Target principal ARN pattern from the reviewed policy config: inline-policy put/get/delete/list (and GetRole on credential roles) only; an explicit Deny and the permissions boundary keep the grantor off guarded principals and escalating actions.';
      }
    }
    for (const [resource, reason] of Object.entries(reasons)) acknowledgeWildcard(this, resource, reason);
  }
}

/** The Allow statements of a grantor (identity policy and boundary alike). */
function allowStatements(p: {
  roles: readonly string[];
  users: readonly string[];
  credentialRoles: readonly string[];
}): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if (p.roles.length > 0) {
    out.push({
      Sid: 'InlinePoliciesOnTargetRoles',
      Effect: 'Allow',
      Action: ['iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy', 'iam:ListRolePolicies'],
      Resource: [...p.roles],
    });
  }
  if (p.users.length > 0) {
    out.push({
      Sid: 'InlinePoliciesOnTargetUsers',
      Effect: 'Allow',
      Action: ['iam:PutUserPolicy', 'iam:GetUserPolicy', 'iam:DeleteUserPolicy', 'iam:ListUserPolicies'],
      Resource: [...p.users],
    });
  }
  if (p.credentialRoles.length > 0) {
    out.push({
      Sid: 'ReadCredentialRoles',
      Effect: 'Allow',
      Action: 'iam:GetRole',
      Resource: [...p.credentialRoles],
    });
  }
  out.push({
    Sid: 'FindTargetPrincipals',
    Effect: 'Allow',
    Action: ['iam:ListRoles', 'iam:ListUsers'],
    Resource: '*',
  });
  // The audit review reads this account's event history (read-only) for what a grant was used for.
  out.push({
    Sid: 'ReadEventHistory',
    Effect: 'Allow',
    Action: 'cloudtrail:LookupEvents',
    Resource: '*',
  });
  return out;
}

/** Props of {@link GrantorStack}. */
export interface GrantorStackProps extends StackProps {
  readonly policy: PolicyConfig;
  /** The hub account, where the broker runs. */
  readonly hubAccount: string;
  /** The broker stack's name (its grant, revoke, sweeper and review role names derive from it). */
  readonly brokerStackName: string;
  /**
   * The hub's region, where the activity bus is (the forwarder's target).
   * @default this stack's region
   */
  readonly hubRegion?: string;
  /**
   * The grantor role's name.
   * @default the listed account's grantor role name (or the config's default one)
   */
  readonly roleName?: string;
  /** @default false (see {@link GrantorRoleProps.allAccounts}) */
  readonly allAccounts?: boolean;
}

/**
 * One target account's grantor: `npx cdk deploy JitGrantor-<account>` with that account's credentials,
 * after the hub broker (IAM refuses a trust policy naming roles that do not exist yet, and the forwarder's
 * target bus must exist). With it, the forwarder of this account's JIT session activity to the hub bus.
 */
export class GrantorStack extends Stack {
  public readonly grantor: GrantorRole;
  /** Forwards this region's JIT session activity to the hub (see {@link ActivityForwarder} on regions). */
  public readonly forwarder: ActivityForwarder;

  constructor(scope: Construct, id: string, props: GrantorStackProps) {
    super(scope, id, props);
    const listed = listedAccounts(props.policy).find((a) => a.id === this.account);
    if (!Token.isUnresolved(this.account) && !listed) {
      throw new Error(`GrantorStack: account ${this.account} is not listed in the config's accounts`);
    }
    const roleName =
      props.roleName ?? listed?.grantorRoleName ?? props.policy.grantorRoleName ?? DEFAULT_GRANTOR_ROLE_NAME;
    this.grantor = new GrantorRole(this, 'Grantor', {
      policy: props.policy,
      hubAccount: props.hubAccount,
      brokerStackName: props.brokerStackName,
      roleName,
      ...(props.allAccounts === undefined ? {} : { allAccounts: props.allAccounts }),
    });
    // IAM's events (and the global STS endpoint's) are delivered in us-east-1 only: deploy this stack
    // there, or a stack with just an ActivityForwarder, and one in every other region JIT sessions use.
    this.forwarder = new ActivityForwarder(this, 'ActivityForwarder', {
      hubBusArn: activityBusArn({
        partition: this.partition,
        region: props.hubRegion ?? this.region,
        hubAccount: props.hubAccount,
        brokerStackName: props.brokerStackName,
      }),
    });
    new CfnOutput(this, 'GrantorRoleArn', { value: this.grantor.role.attrArn });
  }
}

/** Props of {@link GrantorStackSetStack}. */
export interface GrantorStackSetStackProps extends StackProps {
  readonly policy: PolicyConfig;
  readonly hubAccount: string;
  readonly brokerStackName: string;
  /**
   * The hub's region (the forwarders' target bus).
   * @default each stack instance's own region
   */
  readonly hubRegion?: string;
  /**
   * `SELF` from the organization's management account, `DELEGATED_ADMIN` from a delegated administrator.
   * @default 'SELF'
   */
  readonly callAs?: 'SELF' | 'DELEGATED_ADMIN';
  /** Check the grantor template with cdk-nag AwsSolutions (a finding throws). @default true */
  readonly nag?: boolean;
}

/**
 * The grantor for a whole organization: one service-managed StackSet deploying the grantor template (for
 * "the deploying account", `AWS::AccountId`) to the configured OUs, automatically to accounts that join
 * them. Deployed from the management or a delegated-admin account; IAM is global, so one region.
 */
export class GrantorStackSetStack extends Stack {
  public readonly stackSet: CfnStackSet;
  /** The grantor template every stack instance gets. */
  public readonly grantorTemplate: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: GrantorStackSetStackProps) {
    super(scope, id, props);
    const settings = props.policy.grantorStackSet;
    if (!settings) throw new Error('GrantorStackSetStack: the policy config has no grantorStackSet');
    this.grantorTemplate = synthesizeGrantorTemplate(props);
    this.stackSet = new CfnStackSet(this, 'GrantorStackSet', {
      stackSetName: `${props.brokerStackName}-grantor`,
      description: 'JIT broker grantor role in every account of the configured organizational units',
      permissionModel: 'SERVICE_MANAGED',
      callAs: props.callAs ?? 'SELF',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      capabilities: ['CAPABILITY_NAMED_IAM'],
      managedExecution: { Active: true },
      operationPreferences: {
        regionConcurrencyType: 'PARALLEL',
        maxConcurrentPercentage: 25,
        failureTolerancePercentage: 10,
      },
      stackInstancesGroup: [
        {
          deploymentTargets: { organizationalUnitIds: [...settings.organizationalUnitIds] },
          regions: [...settings.regions],
        },
      ],
      templateBody: JSON.stringify(this.grantorTemplate),
    });
  }
}

/**
 * The grantor template for the deploying account (`AWS::AccountId`), synthesized in an app of its own
 * (no bootstrap version rule: StackSet targets are not bootstrapped) and checked by cdk-nag there.
 */
function synthesizeGrantorTemplate(props: GrantorStackSetStackProps): Record<string, unknown> {
  const outdir = mkdtempSync(join(tmpdir(), 'jit-grantor-'));
  try {
    const app = new App({ outdir, analyticsReporting: false });
    const stack = new GrantorStack(app, 'JitGrantor', {
      policy: props.policy,
      hubAccount: props.hubAccount,
      brokerStackName: props.brokerStackName,
      ...(props.hubRegion ? { hubRegion: props.hubRegion } : {}),
      roleName: props.policy.grantorRoleName ?? DEFAULT_GRANTOR_ROLE_NAME,
      allAccounts: true,
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
    });
    if (props.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    return app.synth().getStackByName(stack.stackName).template as Record<string, unknown>;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
