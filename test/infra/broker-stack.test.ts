import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '#core/errors.ts';
import { buildBrokerApp } from '../../lib/app.ts';
import { USER_ROUTES } from '../../lib/broker-api.ts';
import { PROJECT_ROOT } from '../../lib/broker-function.ts';
import { loadPolicyConfigFile } from '../../lib/policy-file.ts';
import { STATE } from '../../lib/workflow.ts';
import { arn, testConfig, testConfigInput } from '../support/fakes.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped.
type Json = any;

interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: Json;
  readonly Sid?: string;
}

const SYNTH_TIMEOUT = 180_000;
/** Distinct from every default, so a TimeoutSeconds taken from anywhere else cannot pass. */
const APPROVAL_WINDOW = 2700;
const policy = testConfig({ approvalWindowSeconds: APPROVAL_WINDOW });

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every IAM statement of a template: identity policies, managed policies and inline role policies. */
function statementsOf(template: Template): { owner: string; statement: Statement }[] {
  const out: { owner: string; statement: Statement }[] = [];
  const add = (owner: string, doc: Json) => {
    for (const statement of asArray<Statement>(doc?.Statement)) out.push({ owner, statement });
  };
  for (const [id, r] of Object.entries<Json>(template.findResources('AWS::IAM::Policy'))) {
    add(id, r.Properties.PolicyDocument);
  }
  for (const [id, r] of Object.entries<Json>(template.findResources('AWS::IAM::ManagedPolicy'))) {
    add(id, r.Properties.PolicyDocument);
  }
  for (const [id, r] of Object.entries<Json>(template.findResources('AWS::IAM::Role'))) {
    for (const p of asArray<Json>(r.Properties.Policies)) add(id, p.PolicyDocument);
  }
  return out;
}

/**
 * The state machine's ASL. CDK renders it as `Fn::Join('', [...])` because ARNs are tokens; the string
 * parts are the JSON text and every object part sits inside a JSON string, so a placeholder keeps it valid.
 */
function definitionOf(template: Template): Json {
  const machines = Object.values<Json>(template.findResources('AWS::StepFunctions::StateMachine'));
  expect(machines).toHaveLength(1);
  const def = machines[0].Properties.DefinitionString;
  if (typeof def === 'string') return JSON.parse(def);
  const [delimiter, parts] = def['Fn::Join'] as [string, Json[]];
  expect(delimiter).toBe('');
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : '#{token}')).join(''));
}

/** The logical id of the execution role of the broker function with the given handler name. */
function roleOfHandler(template: Template, handler: string): string {
  const fns = template.findResources('AWS::Lambda::Function', {
    Properties: { Environment: { Variables: { JIT_HANDLER: handler } } },
  });
  const all = Object.values<Json>(fns);
  expect(all).toHaveLength(1);
  const role = all[0].Properties.Role['Fn::GetAtt'];
  expect(role?.[1]).toBe('Arn');
  return role[0] as string;
}

describe('broker app', () => {
  let outdir: string;
  let broker: Template;
  let stateful: Template;
  let synthError: Error | undefined;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'jit-infra-'));
    const built = buildBrokerApp({ policy, nag: true, appProps: { outdir } });
    // Synthesize once with the cdk-nag plugin: an unacknowledged finding throws here. The templates are
    // written before the plugins run, so a nag failure is reported by its own test and the template
    // assertions still run against what was synthesized.
    try {
      built.app.synth();
    } catch (error) {
      synthError = error as Error;
    }
    const templateOf = (stack: Stack) =>
      synthError
        ? Template.fromJSON(JSON.parse(readFileSync(join(outdir, stack.templateFile), 'utf8')))
        : Template.fromStack(stack);
    broker = templateOf(built.broker);
    stateful = templateOf(built.stateful);
  }, SYNTH_TIMEOUT);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  describe('workflow', () => {
    it('is one Standard state machine', () => {
      // Prepare
      const type = new Capture();
      // Act
      broker.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: type });
      // Assess
      broker.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
      expect(type.asString()).toBe('STANDARD');
    });

    it('waits for the approval callback token no longer than the approval window', () => {
      // Prepare
      const { States: states } = definitionOf(broker);
      // Act
      const approval = states[STATE.awaitApproval];
      // Assess
      expect(approval.Type).toBe('Task');
      expect(approval.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
      expect(approval.TimeoutSeconds).toBe(APPROVAL_WINDOW);
      expect(approval.Parameters.Payload['taskToken.$']).toBe('$$.Task.Token');
      expect(approval.Catch).toContainEqual(
        expect.objectContaining({ ErrorEquals: ['States.Timeout'], Next: STATE.approvalExpired }),
      );
    });

    it('waits for the grant expiry by TimestampPath between Grant and Revoke', () => {
      // Prepare
      const { States: states } = definitionOf(broker);
      // Act
      const wait = states[states[STATE.grant].Next];
      // Assess
      expect(states[STATE.grant].Next).toBe(STATE.waitForExpiry);
      expect(wait.Type).toBe('Wait');
      expect(wait.TimestampPath).toBe('$.grant.expiresAt');
      expect(wait.Next).toBe(STATE.revoke);
      expect(states[STATE.grant].ResultSelector).toEqual({ 'expiresAt.$': '$.Payload.expiresAt' });
      expect(states[STATE.grant].ResultPath).toBe('$.grant');
    });

    it('compensates every Grant failure', () => {
      // Prepare
      const { States: states } = definitionOf(broker);
      // Act
      const catches = states[STATE.grant].Catch;
      // Assess
      expect(catches).toEqual([
        expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: STATE.compensate }),
      ]);
      expect(states[STATE.compensate].Parameters.Payload.action).toBe('compensate');
      expect(states[STATE.compensate].Next).toBe(STATE.grantFailed);
      expect(states[STATE.grantFailed].Type).toBe('Fail');
    });

    it('retries Revoke with backoff and records REVOKE_FAILED when retries run out', () => {
      // Prepare
      const { States: states } = definitionOf(broker);
      // Act
      const revoke = states[STATE.revoke];
      // Assess
      expect(revoke.Retry).toContainEqual(
        expect.objectContaining({
          ErrorEquals: expect.arrayContaining(['RetryableAwsError', 'VerificationError']),
          MaxAttempts: expect.any(Number),
          BackoffRate: expect.any(Number),
        }),
      );
      const ours = revoke.Retry.find((r: Json) => r.ErrorEquals.includes('RetryableAwsError'));
      expect(ours.MaxAttempts).toBeGreaterThan(1);
      expect(ours.BackoffRate).toBeGreaterThan(1);
      expect(revoke.Catch).toEqual([
        expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: STATE.recordRevokeFailed }),
      ]);
      expect(states[STATE.recordRevokeFailed].Parameters.Payload.action).toBe('markFailed');
      expect(states[STATE.recordRevokeFailed].Next).toBe(STATE.revokeFailed);
    });
  });

  describe('audit table', () => {
    it('has point-in-time recovery and is retained on delete and on replacement', () => {
      // Prepare
      const pitr = new Capture();
      // Act
      stateful.hasResource('AWS::DynamoDB::GlobalTable', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: Match.objectLike({
          Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: pitr })],
        }),
      });
      // Assess
      stateful.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
      expect(pitr.asObject()).toEqual({ PointInTimeRecoveryEnabled: true });
    });
  });

  describe('API', () => {
    it('requires AWS_IAM on every method except OPTIONS', () => {
      // Prepare
      const methods = Object.values<Json>(broker.findResources('AWS::ApiGateway::Method'));
      // Act
      const userMethods = methods.filter((m) => m.Properties.HttpMethod !== 'OPTIONS');
      // Assess
      expect(userMethods).toHaveLength(USER_ROUTES.length);
      for (const m of userMethods) {
        expect({ method: m.Properties.HttpMethod, auth: m.Properties.AuthorizationType }).toEqual({
          method: m.Properties.HttpMethod,
          auth: 'AWS_IAM',
        });
      }
    });
  });

  describe('IAM', () => {
    it("lets the grant function put policies only on the config's target patterns", () => {
      // Prepare
      const role = roleOfHandler(broker, 'grant');
      const policies = broker.findResources('AWS::IAM::Policy', {
        Properties: { Roles: Match.arrayWith([{ Ref: role }]) },
      });
      const statements = Object.values<Json>(policies).flatMap((p) =>
        asArray<Statement>(p.Properties.PolicyDocument.Statement),
      );
      // Act
      const resourcesFor = (action: string) =>
        statements
          .filter((s) => s.Effect === 'Allow' && asArray(s.Action).includes(action))
          .flatMap((s) => asArray(s.Resource));
      // Assess
      expect(resourcesFor('iam:PutRolePolicy').sort()).toEqual([arn.role('app-*'), arn.role('ops-*')]);
      expect(resourcesFor('iam:PutUserPolicy')).toEqual([arn.user('svc-*')]);
      const iamAllows = statements.filter(
        (s) => s.Effect === 'Allow' && asArray(s.Action).some((a) => a.startsWith('iam:')),
      );
      expect(iamAllows.length).toBeGreaterThan(0);
      for (const s of iamAllows) expect(asArray(s.Resource)).not.toContain('*');
    });

    it('denies the grant function its own stack roles and the protected principals', () => {
      // Prepare
      const role = roleOfHandler(broker, 'grant');
      const denied = new Capture();
      // Act
      broker.hasResourceProperties('AWS::IAM::Policy', {
        Roles: Match.arrayWith([{ Ref: role }]),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: Match.arrayWith(['iam:PutRolePolicy', 'iam:PutUserPolicy']),
              Resource: denied,
            }),
          ]),
        },
      });
      // Assess
      const resources = denied.asArray();
      expect(resources).toContain(arn.role('app-broker-*'));
      const own = resources.find((r: Json) => typeof r === 'object' && r['Fn::Join']);
      expect(own?.['Fn::Join'][1].at(-1)).toBe(':role/JitBroker-*');
    });

    it('gives no function but the grant function a policy-writing permission', () => {
      // Prepare
      const grantRole = roleOfHandler(broker, 'grant');
      // Act
      const writers = statementsOf(broker)
        .filter(({ statement }) => statement.Effect === 'Allow')
        .filter(({ statement }) =>
          asArray(statement.Action).some((a) => /^iam:Put(Role|User)Policy$/.test(a)),
        )
        .map(({ owner }) => broker.toJSON().Resources[owner].Properties.Roles);
      // Assess
      expect(writers.length).toBeGreaterThan(0);
      for (const roles of writers) expect(roles).toEqual([{ Ref: grantRole }]);
    });

    it('allows no iam action on Resource "*" but read-only listing, and no "*" or "iam:*" action anywhere', () => {
      // Prepare: the sweeper lists roles and users (no resource-level permissions exist for those).
      const readOnlyListing = new Set(['iam:listroles', 'iam:listusers']);
      const all = [...statementsOf(broker), ...statementsOf(stateful)];
      // Act
      const offending = all.filter(({ statement: s }) => {
        if (s.Effect !== 'Allow') return false;
        const actions = asArray(s.Action).map((a) => a.toLowerCase());
        const wildcardIam = actions.some((a) => a === '*' || a === 'iam:*');
        const iamOnStar =
          actions.some((a) => a.startsWith('iam:') && !readOnlyListing.has(a)) &&
          asArray(s.Resource).includes('*');
        return wildcardIam || iamOnStar;
      });
      // Assess
      expect(all.length).toBeGreaterThan(0);
      expect(offending).toEqual([]);
    });
  });

  describe('Lambda', () => {
    it('runs every function on nodejs24.x and arm64', () => {
      // Prepare
      const fns = [
        ...Object.values<Json>(broker.findResources('AWS::Lambda::Function')),
        ...Object.values<Json>(stateful.findResources('AWS::Lambda::Function')),
      ];
      // Act
      const settings = fns.map((f) => [f.Properties.Runtime, f.Properties.Architectures]);
      // Assess
      expect(fns.length).toBeGreaterThanOrEqual(5);
      for (const s of settings) expect(s).toEqual(['nodejs24.x', ['arm64']]);
    });
  });

  describe('cdk-nag', () => {
    it('reports no AwsSolutions violation, only acknowledged findings with reasons', () => {
      // Prepare
      const file = join(outdir, 'validation-report.json');
      // Act
      const report = JSON.parse(readFileSync(file, 'utf8'));
      // Assess
      expect(synthError?.message).toBeUndefined();
      const nag = report.pluginReports.find((r: Json) => r.pluginName === 'AwsSolutions');
      expect(nag).toBeDefined();
      expect(nag.violations).toEqual([]);
      expect(nag.conclusion).toBe('success');
      expect(nag.suppressedViolations.length).toBeGreaterThan(0);
      for (const s of nag.suppressedViolations) expect(String(s.reason).trim().length).toBeGreaterThan(20);
    });

    it('fails synth on an unacknowledged finding', () => {
      // Prepare
      const dir = mkdtempSync(join(tmpdir(), 'jit-nag-'));
      const app = new App({ outdir: dir });
      const stack = new Stack(app, 'NagProbe');
      new Bucket(stack, 'Plain');
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      try {
        // Act
        const synth = () => app.synth();
        // Assess
        expect(synth).toThrow(/AwsSolutions-S10/);
        const report = JSON.parse(readFileSync(join(dir, 'validation-report.json'), 'utf8'));
        const nag = report.pluginReports.find((r: Json) => r.pluginName === 'AwsSolutions');
        expect(nag.conclusion).toBe('failure');
        expect(nag.violations.map((v: Json) => v.ruleName)).toContain('AwsSolutions-S10');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it(
      'acknowledges every finding when the stack has an account and a region',
      () => {
        // Prepare: partition and region then render as literals in ARNs, and so in the findings' ids.
        const dir = mkdtempSync(join(tmpdir(), 'jit-nag-env-'));
        const built = buildBrokerApp({
          policy,
          env: { account: '111122223333', region: 'eu-west-1' },
          appProps: { outdir: dir, context: { 'aws:cdk:bundling-stacks': [] } },
        });
        try {
          // Act
          const synth = () => built.app.synth();
          // Assess
          expect(synth).not.toThrow();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      SYNTH_TIMEOUT,
    );
  });
});

describe('policy config at synth', () => {
  let dir: string;
  let badFile: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-config-'));
    const input = testConfigInput();
    const [first, ...rest] = input.rules;
    const bad = { ...input, rules: [{ ...first, actions: ['s3:GetObject', 'iam:PassRole'] }, ...rest] };
    badFile = join(dir, 'bad.json');
    writeFileSync(badFile, JSON.stringify(bad));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a config with a denied action, naming the field and the file', async () => {
    // Act
    const result = loadPolicyConfigFile(badFile);
    // Assess
    await expect(result).rejects.toBeInstanceOf(ConfigError);
    await expect(result).rejects.toThrow(/rules\[0\]\.actions\[1\]: "iam:PassRole" overlaps .*"iam:\*"/);
    await expect(result).rejects.toThrow(badFile);
    await expect(result).rejects.toMatchObject({
      details: [expect.objectContaining({ field: 'rules[0].actions[1]' })],
    });
  });

  it('refuses a config with an unknown field, naming it', async () => {
    // Prepare
    const file = join(dir, 'typo.json');
    writeFileSync(file, JSON.stringify({ ...testConfigInput(), approvalWindowSecs: 60 }));
    // Act
    const result = loadPolicyConfigFile(file);
    // Assess
    await expect(result).rejects.toBeInstanceOf(ConfigError);
    await expect(result).rejects.toThrow(/approvalWindowSecs: is not a known field/);
  });

  it('refuses a file that is not JSON', async () => {
    // Prepare
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"rules": [');
    // Act
    const result = loadPolicyConfigFile(file);
    // Assess
    await expect(result).rejects.toBeInstanceOf(ConfigError);
    await expect(result).rejects.toThrow(/cannot read policy config/);
  });

  it('stops `cdk synth` with a non-zero exit naming the field', () => {
    // Prepare
    const out = join(dir, 'cdk.out');
    const env: NodeJS.ProcessEnv = { ...process.env };
    // No credentials and no lookups: the CLI must not try to reach AWS or the internet.
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
      delete env[key];
    }
    Object.assign(env, {
      AWS_CONFIG_FILE: join(dir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      CDK_DISABLE_VERSION_CHECK: '1',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
    });
    // Act
    const run = spawnSync(
      'npx',
      ['cdk', 'synth', '--quiet', '--no-notices', '-c', `config=${badFile}`, '-o', out],
      { cwd: PROJECT_ROOT, env, encoding: 'utf8', timeout: 110_000 },
    );
    // Assess
    expect(run.error).toBeUndefined();
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/rules\[0\]\.actions\[1\]: "iam:PassRole" overlaps/);
  }, 120_000);
});
