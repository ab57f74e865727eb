import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '#core/policy/config.ts';
import { isProtected } from '#core/policy/validate.ts';
import { buildBrokerApp } from '../../lib/app.ts';
import { GRANTOR_DENIED_ACTIONS, GrantorStack } from '../../lib/grantor-stack.ts';
import {
  B,
  BROKER_STACK,
  C,
  EXTERNAL_ID,
  HUB,
  multiAccountConfig,
  multiAccountInput,
  ORG_ID,
} from '../support/multi-account.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped.
type Json = any;

const SYNTH_TIMEOUT = 180_000;
const STACK_SET = { organizationalUnitIds: ['ou-ab12-cdefgh34'], regions: ['eu-west-1'] };
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Resolves the intrinsics a grantor template uses (Fn::Join, the partition and account pseudo refs). */
function resolve(value: Json, account: string): Json {
  if (Array.isArray(value)) return value.map((v) => resolve(v, account));
  if (value && typeof value === 'object') {
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'];
      return parts.map((p: Json) => resolve(p, account)).join(sep);
    }
    if (value.Ref === 'AWS::Partition') return 'aws';
    if (value.Ref === 'AWS::AccountId') return account;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, account)]));
  }
  return value;
}

/** The grantor of a synthesized template, as IAM sees it in `account`. */
interface Grantor {
  readonly account: string;
  readonly roleName: string;
  readonly identity: Json;
  readonly boundary: Json;
  readonly trust: Json;
}

function grantorOf(templateJson: Json, account: string): Grantor {
  const resources = Object.values<Json>(templateJson.Resources);
  // The grantor is the role with a permissions boundary (the other one is the activity forwarder's).
  const roles = resources.filter((r) => r.Type === 'AWS::IAM::Role' && r.Properties.PermissionsBoundary);
  expect(roles).toHaveLength(1);
  const role = roles[0].Properties;
  const boundary = templateJson.Resources[role.PermissionsBoundary.Ref];
  expect(boundary?.Type).toBe('AWS::IAM::ManagedPolicy');
  expect(role.Policies).toHaveLength(1);
  return resolve(
    {
      account,
      roleName: role.RoleName,
      identity: role.Policies[0].PolicyDocument,
      boundary: boundary.Properties.PolicyDocument,
      trust: role.AssumeRolePolicyDocument,
    },
    account,
  );
}

type Verdict = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

async function simulate(input: {
  principal: string;
  action: string;
  resource: string;
  account: string;
  identity: Json[];
  boundary?: Json;
  trust?: Json;
  context?: Record<string, string>;
}): Promise<Verdict> {
  const response = await runSimulation(
    {
      request: {
        principal: input.principal,
        action: input.action,
        resource: { resource: input.resource, accountId: input.account },
        contextVariables: input.context ?? {},
      },
      identityPolicies: input.identity.map((policy, i) => ({ name: `p${i}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(input.boundary
        ? { permissionBoundaryPolicies: [{ name: 'boundary', policy: input.boundary }] }
        : {}),
      ...(input.trust ? { resourcePolicy: input.trust } : {}),
    } as never,
    {},
  );
  if (response.resultType === 'error')
    throw new Error(`simulation refused: ${JSON.stringify(response.errors)}`);
  return response.overallResult as Verdict;
}

/** One generated case: what the grantor session (or a caller of its trust) tries, and what IAM must say. */
interface Case {
  readonly label: string;
  readonly expected: Verdict | 'denied';
  readonly run: () => Promise<Verdict>;
}

const ADMIN = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const ASSUME_ANY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
};

/** The roles no grantor may touch, as found in a target account. */
function guardedRoles(g: Grantor): string[] {
  const role = (name: string) => `arn:aws:iam::${g.account}:role/${name}`;
  return [
    role(g.roleName),
    role(`${BROKER_STACK}-grant`),
    role(`${BROKER_STACK}-revoke`),
    role(`${BROKER_STACK}-sweeper`),
    role(`${BROKER_STACK}-ApiFunctionServiceRole-1ABCDEF`),
    role('aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef'),
    role('aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Developer_fedcba9876543210'),
    role('AWSReservedSSO_Admin_0123'),
    role('imported/AWSReservedSSO_Admin_0123'),
    role('aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS'),
    role('aws-service-role/organizations.amazonaws.com/AWSServiceRoleForOrganizations'),
    role('OrganizationAccountAccessRole'),
    // Protected principals: both also match the target pattern app-*, so only the Deny stands between.
    role('app-broker-prod'),
    ...(g.account === B ? [role('app-admin')] : []),
  ];
}

/** Everything one might do to a role to gain from it. */
const ROLE_ATTACKS = [
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:GetRolePolicy',
  'iam:ListRolePolicies',
  'iam:AttachRolePolicy',
  'iam:UpdateAssumeRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePermissionsBoundary',
  'iam:DeleteRole',
  'iam:TagRole',
  'iam:PassRole',
  'sts:AssumeRole',
];

/** Every forbidden action (with `iam:Attach*` spelled out) on a resource it applies to. */
function forbiddenActionCases(account: string, roleName: string): [string, string][] {
  const arn = (r: string) => `arn:aws:iam::${account}:${r}`;
  const spelled: [string, string][] = [
    ['iam:CreateRole', arn('role/new-admin')],
    ['iam:CreateUser', arn('user/new-admin')],
    ['iam:CreatePolicy', arn('policy/new-admin')],
    ['iam:CreatePolicyVersion', arn('policy/some-policy')],
    ['iam:CreatePolicyVersion', arn(`policy/${roleName}-boundary`)],
    ['iam:SetDefaultPolicyVersion', arn(`policy/${roleName}-boundary`)],
    ['iam:AttachRolePolicy', arn('role/app-1')],
    ['iam:AttachUserPolicy', arn('user/svc-1')],
    ['iam:AttachGroupPolicy', arn('group/admins')],
    ['iam:PassRole', arn('role/app-1')],
    ['iam:UpdateAssumeRolePolicy', arn('role/app-1')],
    ['iam:PutRolePermissionsBoundary', arn('role/app-1')],
    ['iam:DeleteRolePermissionsBoundary', arn(`role/${roleName}`)],
    ['iam:PutUserPermissionsBoundary', arn('user/svc-1')],
    ['iam:DeleteUserPermissionsBoundary', arn('user/svc-1')],
    ['iam:PutGroupPolicy', arn('group/admins')],
    ['iam:AddUserToGroup', arn('group/admins')],
    ['iam:CreateAccessKey', arn('user/svc-1')],
    ['iam:CreateLoginProfile', arn('user/svc-1')],
    ['iam:UpdateLoginProfile', arn('user/svc-1')],
    ['sts:AssumeRole', arn('role/app-1')],
    ['sts:AssumeRole', arn('role/OrganizationAccountAccessRole')],
  ];
  // Every denied action of the construct has at least one case (a new one without a case fails here).
  for (const denied of GRANTOR_DENIED_ACTIONS) {
    const re = new RegExp(`^${denied.replace('*', '.*')}$`, 'i');
    expect(
      spelled.some(([a]) => re.test(a)),
      denied,
    ).toBe(true);
  }
  return spelled;
}

/** Cases on the grantor's own permissions (identity policy within its boundary). */
function identityCases(g: Grantor, opts: { narrow: boolean }): Case[] {
  const principal = `arn:aws:sts::${g.account}:assumed-role/${g.roleName}/jit-grant`;
  const arn = (r: string) => `arn:aws:iam::${g.account}:${r}`;
  const as =
    (action: string, resource: string, extra: Json[] = []) =>
    () =>
      simulate({
        principal,
        action,
        resource,
        account: g.account,
        identity: [g.identity, ...extra],
        boundary: g.boundary,
      });
  const asReview = (action: string, resource: string) => () =>
    simulate({
      principal: `arn:aws:sts::${g.account}:assumed-role/${g.roleName}/jit-review`,
      action,
      resource,
      account: g.account,
      identity: [g.identity],
      boundary: g.boundary,
      context: { 'aws:userid': 'AROAGRANTOREXAMPLE:jit-review' },
    });
  const cases: Case[] = [];
  for (const resource of guardedRoles(g)) {
    // iam-simulate models AWS's own lock on `aws-reserved/` roles (nothing may modify them, whatever the
    // policy), so there our Deny can only be seen as "not allowed"; the pathless and other-path
    // AWSReservedSSO_ names prove the Deny itself.
    const expected = resource.includes(':role/aws-reserved/') ? 'denied' : 'ExplicitlyDenied';
    for (const action of ROLE_ATTACKS) {
      cases.push({ label: `${action} on guarded ${resource}`, expected, run: as(action, resource) });
    }
  }
  for (const action of [
    'iam:CreatePolicyVersion',
    'iam:DeletePolicy',
    'iam:DeletePolicyVersion',
    'iam:SetDefaultPolicyVersion',
  ]) {
    const boundary = arn(`policy/${g.roleName}-boundary`);
    cases.push({
      label: `${action} on the boundary`,
      expected: 'ExplicitlyDenied',
      run: as(action, boundary),
    });
  }
  for (const [action, resource] of forbiddenActionCases(g.account, g.roleName)) {
    cases.push({
      label: `forbidden ${action} on ${resource}`,
      expected: 'ExplicitlyDenied',
      run: as(action, resource),
    });
    // A policy attached to the grantor later (even AdministratorAccess) changes nothing.
    cases.push({
      label: `forbidden ${action} with admin attached`,
      expected: 'ExplicitlyDenied',
      run: as(action, resource, [ADMIN]),
    });
  }
  // Outside the boundary: denied even with an Allow-everything policy attached.
  for (const [action, resource] of [
    ['s3:GetObject', 'arn:aws:s3:::secrets/key'],
    ['ec2:RunInstances', `arn:aws:ec2:eu-west-1:${g.account}:instance/*`],
    ['kms:Decrypt', `arn:aws:kms:eu-west-1:${g.account}:key/1234`],
    ['organizations:LeaveOrganization', '*'],
    ['iam:DeleteRole', arn('role/app-1')],
    ['iam:TagRole', arn('role/app-1')],
    ['iam:UpdateRole', arn('role/app-1')],
    ['iam:DeleteUser', arn('user/svc-1')],
    ...(opts.narrow ? ([['iam:PutRolePolicy', arn('role/admin')]] as const) : []),
  ] as const) {
    cases.push({
      label: `${action} beyond the boundary with admin attached`,
      expected: 'denied',
      run: as(action, resource, [ADMIN]),
    });
  }
  if (opts.narrow) {
    const names = [
      'role/admin',
      'role/prod-db',
      'role/App-1',
      'role/team/app-1',
      'role/apps',
      'role/ops',
      'user/admin',
      'role/jit-releasex',
    ];
    if (g.account !== C) names.push('user/svc-1');
    for (const name of names) {
      const type = name.startsWith('user/') ? 'User' : 'Role';
      for (const verb of ['Put', 'Delete', 'Get']) {
        cases.push({
          label: `${verb}${type}Policy on non-target ${name}`,
          expected: 'denied',
          run: as(`iam:${verb}${type}Policy`, arn(name)),
        });
      }
      cases.push({
        label: `List${type}Policies on non-target ${name}`,
        expected: 'denied',
        run: as(`iam:List${type}Policies`, arn(name)),
      });
    }
    const targets =
      g.account === C
        ? ['user/svc-1', 'role/app-1']
        : ['role/app-1', ...(g.account === B ? ['role/ops-1', 'role/jit-release-1'] : [])];
    for (const name of targets) {
      const type = name.startsWith('user/') ? 'User' : 'Role';
      for (const action of [
        `iam:Put${type}Policy`,
        `iam:Get${type}Policy`,
        `iam:Delete${type}Policy`,
        `iam:List${type}Policies`,
      ]) {
        cases.push({ label: `${action} on target ${name}`, expected: 'Allowed', run: as(action, arn(name)) });
        // The review function's session reads CloudTrail and nothing else, targets included.
        cases.push({
          label: `${action} on target ${name} as the review session`,
          expected: 'ExplicitlyDenied',
          run: asReview(action, arn(name)),
        });
      }
    }
    cases.push({
      label: 'LookupEvents as the review session',
      expected: 'Allowed',
      run: asReview('cloudtrail:LookupEvents', '*'),
    });
    if (g.account === B) {
      cases.push({
        label: 'GetRole on a credential role',
        expected: 'Allowed',
        run: as('iam:GetRole', arn('role/jit-release-1')),
      });
      cases.push({
        label: 'GetRole on a non-credential role',
        expected: 'denied',
        run: as('iam:GetRole', arn('role/app-1')),
      });
    }
    for (const action of ['iam:ListRoles', 'iam:ListUsers']) {
      cases.push({ label: action, expected: 'Allowed', run: as(action, '*') });
    }
  }
  return cases;
}

/** Cases on the grantor's trust: who may assume it, with what. */
function trustCases(g: Grantor, opts: { org: boolean }): Case[] {
  const resource = `arn:aws:iam::${g.account}:role/${g.roleName}`;
  const good = { 'sts:ExternalId': EXTERNAL_ID, ...(opts.org ? { 'aws:PrincipalOrgID': ORG_ID } : {}) };
  const assume = (principal: string, context: Record<string, string>) => () =>
    simulate({
      principal,
      action: 'sts:AssumeRole',
      resource,
      account: g.account,
      identity: [ASSUME_ANY],
      trust: g.trust,
      context,
    });
  const session = (account: string, role: string) => `arn:aws:sts::${account}:assumed-role/${role}/fn`;
  const cases: Case[] = [];
  for (const fn of ['grant', 'revoke', 'sweeper']) {
    const p = session(HUB, `${BROKER_STACK}-${fn}`);
    cases.push({ label: `${fn} with the ExternalId`, expected: 'Allowed', run: assume(p, good) });
    const { 'sts:ExternalId': _, ...noExternalId } = good;
    cases.push({ label: `${fn} without the ExternalId`, expected: 'denied', run: assume(p, noExternalId) });
    cases.push({
      label: `${fn} with a wrong ExternalId`,
      expected: 'denied',
      run: assume(p, { ...good, 'sts:ExternalId': 'guess' }),
    });
    cases.push({
      label: `${fn} with the ExternalId in other case`,
      expected: 'denied',
      run: assume(p, { ...good, 'sts:ExternalId': EXTERNAL_ID.toUpperCase() }),
    });
    if (opts.org) {
      cases.push({
        label: `${fn} from outside the organization`,
        expected: 'denied',
        run: assume(p, { ...good, 'aws:PrincipalOrgID': 'o-zzzzzzzzzz' }),
      });
      cases.push({
        label: `${fn} with no organization`,
        expected: 'denied',
        run: assume(p, { 'sts:ExternalId': EXTERNAL_ID }),
      });
    }
  }
  // The review function: only with its own session name (the grantor lets that session read CloudTrail only).
  const review = session(HUB, `${BROKER_STACK}-review`);
  cases.push({
    label: 'review as jit-review',
    expected: 'Allowed',
    run: assume(review, { ...good, 'sts:RoleSessionName': 'jit-review' }),
  });
  cases.push({
    label: 'review under another session name',
    expected: 'denied',
    run: assume(review, { ...good, 'sts:RoleSessionName': 'jit-grant' }),
  });
  for (const principal of [
    session(HUB, `${BROKER_STACK}-api`),
    session(HUB, `${BROKER_STACK}-ValidateFunctionServiceRole-1ABC`),
    session(HUB, 'AWSReservedSSO_AdministratorAccess_0123'),
    session(B, `${BROKER_STACK}-grant`),
    session(C, `${BROKER_STACK}-grant`),
    session(g.account, g.roleName),
    `arn:aws:iam::${HUB}:root`,
    `arn:aws:iam::${HUB}:user/admin`,
    `arn:aws:iam::${g.account}:root`,
  ]) {
    cases.push({
      label: `${principal} with the ExternalId`,
      expected: 'denied',
      run: assume(principal, good),
    });
  }
  return cases;
}

async function runAll(cases: Case[]): Promise<string[]> {
  const failures: string[] = [];
  for (let i = 0; i < cases.length; i += 50) {
    const chunk = cases.slice(i, i + 50);
    const verdicts = await Promise.all(chunk.map((c) => c.run()));
    chunk.forEach((c, k) => {
      const v = verdicts[k];
      const ok = c.expected === 'denied' ? v !== 'Allowed' : v === c.expected;
      if (!ok) failures.push(`${c.label}: expected ${c.expected}, got ${v}`);
    });
  }
  return failures;
}

/** Every IAM statement of a template's identity policies (inline, managed, role policies). */
function statementsOf(template: Json): { owner: string; statement: Json }[] {
  const out: { owner: string; statement: Json }[] = [];
  for (const [id, r] of Object.entries<Json>(template.Resources)) {
    const docs =
      r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy'
        ? [r.Properties.PolicyDocument]
        : r.Type === 'AWS::IAM::Role'
          ? asArray<Json>(r.Properties.Policies).map((p) => p.PolicyDocument)
          : [];
    for (const d of docs)
      for (const statement of asArray<Json>(d.Statement)) out.push({ owner: id, statement });
  }
  return out;
}

function build(policy: PolicyConfig, outdir: string, nag = true) {
  return buildBrokerApp({
    policy,
    hubAccount: HUB,
    nag,
    appProps: { outdir, context: { 'aws:cdk:bundling-stacks': [] } },
  });
}

describe('grantor stacks', () => {
  let outdir: string;
  let built: ReturnType<typeof buildBrokerApp>;
  let synthError: Error | undefined;
  let templates: Record<string, Json>;
  const policy = multiAccountConfig({ grantorStackSet: STACK_SET });

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'jit-grantor-'));
    built = build(policy, outdir);
    try {
      built.app.synth();
    } catch (error) {
      synthError = error as Error;
    }
    const read = (s: Stack) => JSON.parse(readFileSync(join(outdir, s.templateFile), 'utf8'));
    templates = Object.fromEntries(
      [...built.grantors, built.broker, ...(built.grantorStackSet ? [built.grantorStackSet] : [])].map(
        (s) => [s.stackName, read(s)],
      ),
    );
  }, SYNTH_TIMEOUT);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  const grantorB = () => templates[`JitGrantor-${B}`];
  const stackSetTemplate = () => {
    const sets = Object.values<Json>(templates.JitGrantorStackSet.Resources).filter(
      (r) => r.Type === 'AWS::CloudFormation::StackSet',
    );
    expect(sets).toHaveLength(1);
    return JSON.parse(sets[0].Properties.TemplateBody);
  };

  it('builds one grantor stack per listed account, in that account, and the StackSet stack', () => {
    // Act
    const stacks = built.grantors.map((s) => [s.stackName, s.account]);
    // Assess
    expect(stacks).toEqual([
      [`JitGrantor-${HUB}`, HUB],
      [`JitGrantor-${B}`, B],
      [`JitGrantor-${C}`, C],
    ]);
    expect(built.grantorStackSet?.stackName).toBe('JitGrantorStackSet');
  });

  it('trusts exactly the grant, revoke, sweeper and review roles, with the ExternalId and the organization', () => {
    // Prepare
    const g = grantorOf(grantorB(), B);
    // Act
    const statements = g.trust.Statement;
    // Assess
    expect(statements).toHaveLength(2);
    expect(statements[0]).toEqual({
      Sid: 'BrokerFunctionsWithExternalId',
      Effect: 'Allow',
      Principal: {
        AWS: ['grant', 'revoke', 'sweeper'].map((f) => `arn:aws:iam::${HUB}:role/${BROKER_STACK}-${f}`),
      },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID, 'aws:PrincipalOrgID': ORG_ID } },
    });
    // The review function only with its own session name, which the grantor's policy lets read CloudTrail only.
    expect(statements[1]).toEqual({
      Sid: 'AuditReviewWithExternalId',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${HUB}:role/${BROKER_STACK}-review` },
      Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: {
          'sts:ExternalId': EXTERNAL_ID,
          'aws:PrincipalOrgID': ORG_ID,
          'sts:RoleSessionName': 'jit-review',
        },
      },
    });
    expect(JSON.stringify(g.identity)).toContain('ReviewSessionReadsOnly');
    const principals = JSON.stringify(statements[0].Principal);
    expect(principals).not.toMatch(/"\*"|:root"/);
  });

  it('has no organization condition when the config names none', () => {
    // Prepare
    const { organizationId: _, ...input } = multiAccountInput();
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new GrantorStack(app, 'Probe', {
      policy: multiAccountConfig({ ...input, organizationId: undefined }),
      hubAccount: HUB,
      brokerStackName: BROKER_STACK,
      env: { account: B },
    });
    // Act
    const g = grantorOf(Template.fromStack(stack).toJSON(), B);
    // Assess
    expect(g.trust.Statement[0].Condition).toEqual({ StringEquals: { 'sts:ExternalId': EXTERNAL_ID } });
  });

  it("allows IAM writes only on that account's target patterns, never on '*'", () => {
    // Prepare
    const g = grantorOf(grantorB(), B);
    // Act
    const allows = g.identity.Statement.filter((s: Json) => s.Effect === 'Allow');
    const writes = allows.filter((s: Json) =>
      asArray<string>(s.Action).some((a) => !/^(iam:(List|Get)|cloudtrail:LookupEvents$)/.test(a)),
    );
    // Assess
    expect(writes.flatMap((s: Json) => asArray(s.Resource)).sort()).toEqual([
      `arn:aws:iam::${B}:role/app-*`,
      `arn:aws:iam::${B}:role/jit-release-*`,
      `arn:aws:iam::${B}:role/ops-*`,
    ]);
    const onStar = allows.filter((s: Json) => asArray(s.Resource).includes('*'));
    expect(onStar.flatMap((s: Json) => asArray(s.Action)).sort()).toEqual([
      'cloudtrail:LookupEvents',
      'iam:ListRoles',
      'iam:ListUsers',
    ]);
  });

  it('lets the grantor read the event history (the review), in its boundary too', () => {
    // Prepare
    const g = grantorOf(grantorB(), B);
    // Act
    const lookup = (doc: Json) =>
      doc.Statement.filter(
        (s: Json) => s.Effect === 'Allow' && asArray(s.Action).includes('cloudtrail:LookupEvents'),
      );
    // Assess
    expect(lookup(g.identity)).toEqual([
      { Sid: 'ReadEventHistory', Effect: 'Allow', Action: 'cloudtrail:LookupEvents', Resource: '*' },
    ]);
    expect(lookup(g.boundary)).toEqual(lookup(g.identity));
  });

  it('allows no IAM write on "*" in any grantor template, the StackSet one included', () => {
    // Prepare
    const all = [
      ...built.grantors.flatMap((s) => statementsOf(templates[s.stackName])),
      ...statementsOf(stackSetTemplate()),
    ];
    // Act
    const offending = all.filter(
      ({ statement: s }) =>
        s.Effect === 'Allow' &&
        asArray(s.Resource).includes('*') &&
        asArray<string>(s.Action).some(
          (a) => !['iam:ListRoles', 'iam:ListUsers', 'cloudtrail:LookupEvents'].includes(a),
        ),
    );
    // Assess
    expect(all.length).toBeGreaterThan(10);
    expect(offending).toEqual([]);
  });

  it('denies the guarded principals and every escalating action explicitly', () => {
    // Prepare
    const g = grantorOf(grantorB(), B);
    // Act
    const denies = g.identity.Statement.filter((s: Json) => s.Effect === 'Deny');
    // Assess
    const guarded = denies.find((s: Json) => s.Action === 'iam:*').Resource;
    expect(guarded).toEqual(
      expect.arrayContaining([
        `arn:aws:iam::${B}:role/JitGrantor`,
        `arn:aws:iam::${B}:role/${BROKER_STACK}-*`,
        `arn:aws:iam::${B}:role/aws-reserved/sso.amazonaws.com/*`,
        `arn:aws:iam::${B}:role/AWSReservedSSO_*`,
        `arn:aws:iam::${B}:role/aws-service-role/*`,
        `arn:aws:iam::${B}:role/OrganizationAccountAccessRole`,
        `arn:aws:iam::${B}:role/app-broker-*`,
        `arn:aws:iam::${B}:role/app-admin`,
      ]),
    );
    const escalating = denies.find((s: Json) => s.Resource === '*');
    expect(escalating.Action).toEqual([...GRANTOR_DENIED_ACTIONS]);
  });

  it('caps the role with a permissions boundary holding the same Allow', () => {
    // Prepare
    const g = grantorOf(grantorB(), B);
    // Act
    const allows = g.identity.Statement.filter((s: Json) => s.Effect === 'Allow');
    // Assess
    expect(g.boundary.Statement).toEqual(allows);
    expect(g.boundary.Statement.every((s: Json) => s.Effect === 'Allow')).toBe(true);
  });

  it('deploys the StackSet service-managed to the OUs, one region, with the grantor for the deploying account', () => {
    // Prepare
    const sets = Object.values<Json>(templates.JitGrantorStackSet.Resources).filter(
      (r) => r.Type === 'AWS::CloudFormation::StackSet',
    );
    // Act
    const props = sets[0].Properties;
    const body = stackSetTemplate();
    // Assess
    expect(props).toMatchObject({
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      StackInstancesGroup: [
        {
          DeploymentTargets: { OrganizationalUnitIds: STACK_SET.organizationalUnitIds },
          Regions: ['eu-west-1'],
        },
      ],
    });
    expect(body.Parameters?.BootstrapVersion).toBeUndefined();
    expect(body.Rules).toBeUndefined();
    const g = grantorOf(body, '999988887777');
    expect(g.identity.Statement[0].Resource).toContain('arn:aws:iam::999988887777:role/app-*');
    expect(g.trust.Statement[0].Condition.StringEquals['sts:ExternalId']).toBe(EXTERNAL_ID);
  });

  it('gives the hub broker no IAM permission of its own: only sts:AssumeRole on the grantors', () => {
    // Prepare
    const broker = templates[BROKER_STACK];
    const allows = statementsOf(broker).filter(({ statement: s }) => s.Effect === 'Allow');
    // Act
    const iamAllows = allows.filter(({ statement: s }) =>
      asArray<string>(s.Action).some((a) => /^iam:/i.test(a)),
    );
    const assumed = allows
      .filter(({ statement: s }) => asArray(s.Action).includes('sts:AssumeRole'))
      .flatMap(({ statement: s }) => asArray(s.Resource).map((r) => resolve(r, HUB)));
    // Assess
    expect(iamAllows).toEqual([]);
    expect(JSON.stringify(broker)).not.toMatch(/iam:Put(Role|User)Policy"(?![^[]*"Effect":"Deny")/);
    expect([...new Set(assumed)].sort()).toEqual(
      [
        `arn:aws:iam::${B}:role/jit-release-*`,
        ...[HUB, B, C].map((a) => `arn:aws:iam::${a}:role/JitGrantor`),
      ].sort(),
    );
  });

  it('names the broker roles the grantors trust', () => {
    // Act
    const names = Object.values<Json>(templates[BROKER_STACK].Resources)
      .filter((r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName)
      .map((r) => r.Properties.RoleName)
      .sort();
    // Assess
    expect(names).toEqual([
      `${BROKER_STACK}-grant`,
      `${BROKER_STACK}-review`,
      `${BROKER_STACK}-revoke`,
      `${BROKER_STACK}-sweeper`,
    ]);
  });

  it('passes cdk-nag AwsSolutions on the grantor stacks and the StackSet stack', () => {
    // Prepare
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    // Act
    const nag = report.pluginReports.find((r: Json) => r.pluginName === 'AwsSolutions');
    // Assess
    expect(synthError?.message).toBeUndefined();
    expect(nag.violations).toEqual([]);
    expect(nag.conclusion).toBe('success');
    const suppressedIn = new Set(
      nag.suppressedViolations.map((s: Json) => s.violatingResources?.[0]?.locations?.[0] ?? ''),
    );
    expect(suppressedIn.size).toBeGreaterThan(0);
    for (const s of nag.suppressedViolations) expect(String(s.reason).trim().length).toBeGreaterThan(20);
  });

  it('has the broker functions refuse, in the core, every role a grantor denies', () => {
    // Prepare
    const bundled = built.broker.bundledPolicy;
    const role = (name: string) => `arn:aws:iam::${B}:role/${name}`;
    // Act
    const refused = [
      role('JitGrantor'),
      role('aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123'),
      role('AWSReservedSSO_Admin_0123'),
      role('aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS'),
      role('OrganizationAccountAccessRole'),
      role(`${BROKER_STACK}-grant`),
    ].map((arn) => isProtected(arn, bundled));
    // Assess
    expect(refused).toEqual([true, true, true, true, true, true]);
    expect(isProtected(role('app-1'), bundled)).toBe(false);
  });

  it('builds no grantor stack when the hub account is unknown (the local runtime)', () => {
    // Act
    const local = buildBrokerApp({
      policy,
      nag: false,
      appProps: { context: { 'aws:cdk:bundling-stacks': [] } },
    });
    // Assess
    expect(local.grantors).toEqual([]);
    expect(local.grantorStackSet).toBeUndefined();
  });

  it('refuses a grantor stack for an unlisted account', () => {
    // Act
    const act = () =>
      new GrantorStack(new App(), 'Probe', {
        policy,
        hubAccount: HUB,
        brokerStackName: BROKER_STACK,
        env: { account: '999988887777' },
      });
    // Assess
    expect(act).toThrow(/999988887777 is not listed/);
  });

  describe('escalation proof (@cloud-copilot/iam-simulate on the synthesized templates)', () => {
    let broad: Record<string, Json>;

    beforeAll(() => {
      // A careless config: targets every role and user of every listed account. Only the Deny and the
      // boundary stand between the broker and the guarded principals.
      const input = multiAccountInput({ grantorStackSet: STACK_SET });
      const [first, ...rest] = input.rules;
      const wide = {
        ...(first as NonNullable<typeof first>),
        targets: ['arn:aws:iam::*:role/*', 'arn:aws:iam::*:user/*'],
      };
      const dir = mkdtempSync(join(tmpdir(), 'jit-grantor-broad-'));
      try {
        const b = build(multiAccountConfig({ ...input, rules: [wide, ...rest] }), dir, false);
        const assembly = b.app.synth();
        broad = {
          B: assembly.getStackByName(`JitGrantor-${B}`).template,
          set: b.grantorStackSet?.grantorTemplate,
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, SYNTH_TIMEOUT);

    it('denies every escalation and allows only the target operations', async () => {
      // Prepare
      const narrowB = grantorOf(grantorB(), B);
      const narrowC = grantorOf(templates[`JitGrantor-${C}`], C);
      const narrowHub = grantorOf(templates[`JitGrantor-${HUB}`], HUB);
      const setInB = grantorOf(stackSetTemplate(), B);
      const setInC = grantorOf(stackSetTemplate(), C);
      const broadB = grantorOf(broad.B, B);
      const broadSetInB = grantorOf(broad.set, B);
      const cases = [
        ...identityCases(narrowB, { narrow: true }),
        ...identityCases(narrowC, { narrow: true }),
        ...identityCases(narrowHub, { narrow: true }),
        ...identityCases(setInB, { narrow: true }),
        ...identityCases(setInC, { narrow: true }),
        ...identityCases(broadB, { narrow: false }),
        ...identityCases(broadSetInB, { narrow: false }),
        ...trustCases(narrowB, { org: true }),
        ...trustCases(narrowC, { org: true }),
        ...trustCases(setInB, { org: true }),
      ];
      // Act
      const failures = await runAll(cases);
      // Assess
      console.info(`grantor escalation proof: ${cases.length} cases evaluated`);
      expect(cases.length).toBeGreaterThanOrEqual(200);
      expect(failures).toEqual([]);
    }, 120_000);

    it('would catch a grantor without its Deny: the wide Allow then reaches the guarded roles', async () => {
      // Prepare: the same broad grantor with its Deny statements taken out.
      const g = grantorOf(broad.B, B);
      const stripped = {
        ...g,
        identity: {
          ...g.identity,
          Statement: g.identity.Statement.filter((s: Json) => s.Effect === 'Allow'),
        },
      };
      // Act
      const failures = await runAll(identityCases(stripped, { narrow: false }));
      // Assess
      expect(failures.filter((f) => /on guarded .*got Allowed/.test(f)).length).toBeGreaterThan(20);
    }, 120_000);

    it('would catch a trust without the ExternalId condition', async () => {
      // Prepare
      const g = grantorOf(grantorB(), B);
      const loose = {
        ...g,
        trust: { ...g.trust, Statement: g.trust.Statement.map(({ Condition: _, ...s }: Json) => s) },
      };
      // Act
      const failures = await runAll(trustCases(loose, { org: true }));
      // Assess
      expect(failures.some((f) => /without the ExternalId: expected denied, got Allowed/.test(f))).toBe(true);
    }, 120_000);
  });
});
