import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '#core/policy/config.ts';
import { ALL_MANAGEMENT_EVENTS, JIT_SESSION_EVENT_PATTERN } from '../../lib/activity-events.ts';
import { buildBrokerApp } from '../../lib/app.ts';
import { testConfig } from '../support/fakes.ts';
import { B, BROKER_STACK, C, HUB, multiAccountConfig, ORG_ID } from '../support/multi-account.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped.
type Json = any;

const SYNTH_TIMEOUT = 180_000;
const HUB_BUS = `jit-activity-${BROKER_STACK}`;
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The exact pattern the first-use path matches (written out, so a change to the constant shows here). */
const PATTERN = {
  'detail-type': ['AWS API Call via CloudTrail'],
  detail: { userIdentity: { arn: [{ wildcard: 'arn:*:sts::*:assumed-role/*/jit-*-*-*-*-*' }] } },
};

/** Resolves Fn::Join and the pseudo parameters a template uses. */
function resolve(value: Json, env: { account: string; region: string }): Json {
  if (Array.isArray(value)) return value.map((v) => resolve(v, env));
  if (value && typeof value === 'object') {
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'];
      return parts.map((p: Json) => resolve(p, env)).join(sep);
    }
    if (value.Ref === 'AWS::Partition') return 'aws';
    if (value.Ref === 'AWS::AccountId') return env.account;
    if (value.Ref === 'AWS::Region') return env.region;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, env)]));
  }
  return value;
}

interface Synthesized {
  readonly built: ReturnType<typeof buildBrokerApp>;
  readonly templates: Record<string, Json>;
  readonly nag: Json;
  readonly error?: Error;
}

/** Builds and synthesizes the app (no bundling) with cdk-nag; the templates are read even when nag throws. */
function synthesize(policy: PolicyConfig, outdir: string): Synthesized {
  const built = buildBrokerApp({
    policy,
    hubAccount: HUB,
    env: { region: 'eu-west-1' },
    appProps: { outdir, context: { 'aws:cdk:bundling-stacks': [] } },
  });
  let error: Error | undefined;
  try {
    built.app.synth();
  } catch (e) {
    error = e as Error;
  }
  const read = (s: Stack) => JSON.parse(readFileSync(join(outdir, s.templateFile), 'utf8'));
  const stacks = [built.stateful, built.broker, ...built.grantors];
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
  return {
    built,
    templates: Object.fromEntries(stacks.map((s) => [s.stackName, read(s)])),
    nag: report.pluginReports.find((r: Json) => r.pluginName === 'AwsSolutions'),
    ...(error ? { error } : {}),
  };
}

const resourcesOf = (template: Json, type: string): [string, Json][] =>
  Object.entries<Json>(template.Resources).filter(([, r]) => r.Type === type);

function expectNagClean(s: Synthesized): void {
  expect(s.error?.message).toBeUndefined();
  expect(s.nag.violations).toEqual([]);
  expect(s.nag.conclusion).toBe('success');
  for (const v of s.nag.suppressedViolations) expect(String(v.reason).trim().length).toBeGreaterThan(20);
}

describe('activity events (listed accounts)', () => {
  let outdir: string;
  let multi: Synthesized;
  const policy = multiAccountConfig();

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'jit-activity-'));
    multi = synthesize(policy, outdir);
  }, SYNTH_TIMEOUT);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  const broker = () => multi.templates[BROKER_STACK];

  it('keeps the exported pattern and state as EventBridge needs them', () => {
    // Assess
    expect(JIT_SESSION_EVENT_PATTERN).toEqual(PATTERN);
    expect(ALL_MANAGEMENT_EVENTS).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
  });

  it('creates the hub bus, letting exactly the listed accounts of the organization put events', () => {
    // Prepare
    const buses = resourcesOf(broker(), 'AWS::Events::EventBus');
    // Act
    const [, bus] = buses[0] ?? [];
    const policyDoc = resolve(bus.Properties.Policy, { account: HUB, region: 'eu-west-1' });
    // Assess
    expect(buses).toHaveLength(1);
    expect(bus.Properties.Name).toBe(HUB_BUS);
    expect(policyDoc.Statement).toEqual([
      {
        Sid: 'ListedAccountsPutEvents',
        Effect: 'Allow',
        Principal: { AWS: [HUB, B, C] },
        Action: 'events:PutEvents',
        Resource: `arn:aws:events:eu-west-1:${HUB}:event-bus/${HUB_BUS}`,
        Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG_ID } },
      },
    ]);
    expect(resourcesOf(broker(), 'AWS::Events::EventBusPolicy')).toEqual([]);
  });

  it('routes the hub bus events of JIT sessions to the first-use function', () => {
    // Prepare
    const [busId] = resourcesOf(broker(), 'AWS::Events::EventBus')[0] ?? [];
    // Act
    const rules = resourcesOf(broker(), 'AWS::Events::Rule')
      .map(([, r]) => r.Properties)
      .filter((p) => p.EventPattern);
    // Assess
    expect(rules).toHaveLength(1);
    const rule = rules[0];
    expect(rule.EventPattern).toEqual(PATTERN);
    expect(rule.EventBusName).toEqual({ Ref: busId });
    expect(rule.State).toBe('ENABLED');
    const target = broker().Resources[rule.Targets[0].Arn['Fn::GetAtt'][0]];
    expect(target.Properties.Environment.Variables.JIT_HANDLER).toBe('first-use');
  });

  it('forwards from each target account default bus, read-only management events included', () => {
    // Prepare
    const grantor = multi.templates[`JitGrantor-${B}`];
    // Act
    const rules = resourcesOf(grantor, 'AWS::Events::Rule').map(([, r]) => r.Properties);
    // Assess
    expect(rules).toHaveLength(1);
    const rule = rules[0];
    expect(rule.EventPattern).toEqual(PATTERN);
    expect(rule.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    expect(rule.EventBusName).toBeUndefined();
    expect(rule.Targets).toHaveLength(1);
    expect(resolve(rule.Targets[0].Arn, { account: B, region: 'eu-west-1' })).toBe(
      `arn:aws:events:eu-west-1:${HUB}:event-bus/${HUB_BUS}`,
    );
  });

  it('gives the forwarder a role EventBridge assumes that may only put events on the hub bus', () => {
    // Prepare
    const grantor = multi.templates[`JitGrantor-${B}`];
    const rule = resourcesOf(grantor, 'AWS::Events::Rule')[0]?.[1].Properties;
    const roleId = rule.Targets[0].RoleArn['Fn::GetAtt'][0];
    // Act
    const role = grantor.Resources[roleId].Properties;
    const statements = resourcesOf(grantor, 'AWS::IAM::Policy')
      .filter(([, p]) => asArray<Json>(p.Properties.Roles).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => asArray<Json>(p.Properties.PolicyDocument.Statement))
      .map((s) => resolve(s, { account: B, region: 'eu-west-1' }));
    // Assess
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' } },
    ]);
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toBeUndefined();
    expect(statements).toEqual([
      {
        Action: 'events:PutEvents',
        Effect: 'Allow',
        Resource: `arn:aws:events:eu-west-1:${HUB}:event-bus/${HUB_BUS}`,
      },
    ]);
  });

  it('puts the forwarder in every grantor stack and the StackSet template', () => {
    // Prepare
    const app = mkdtempSync(join(tmpdir(), 'jit-activity-set-'));
    try {
      const built = buildBrokerApp({
        policy: multiAccountConfig({
          grantorStackSet: { organizationalUnitIds: ['ou-ab12-cdefgh34'], regions: ['eu-west-1'] },
        }),
        hubAccount: HUB,
        nag: false,
        appProps: { outdir: app, context: { 'aws:cdk:bundling-stacks': [] } },
      });
      // Act
      const body = built.grantorStackSet?.grantorTemplate as Json;
      const rules = Object.values<Json>(body.Resources ?? {}).filter((r) => r.Type === 'AWS::Events::Rule');
      // Assess
      expect(built.grantors.filter((g) => g.forwarder.rule)).toHaveLength(3);
      expect(rules).toHaveLength(1);
      expect(rules[0].Properties.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
      expect(rules[0].Properties.EventPattern).toEqual(PATTERN);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('passes cdk-nag AwsSolutions on every stack', () => {
    // Assess
    expectNagClean(multi);
  });

  it(
    'has no organization condition on the hub bus when the config names none',
    () => {
      // Prepare
      const dir = mkdtempSync(join(tmpdir(), 'jit-activity-noorg-'));
      try {
        // Act
        const s = synthesize(multiAccountConfig({ organizationId: undefined }), dir);
        const [, bus] = resourcesOf(s.templates[BROKER_STACK], 'AWS::Events::EventBus')[0] ?? [];
        // Assess
        expect(bus.Properties.Policy.Statement).toHaveLength(1);
        expect(bus.Properties.Policy.Statement[0].Principal).toEqual({ AWS: [HUB, B, C] });
        expect(bus.Properties.Policy.Statement[0].Condition).toBeUndefined();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    SYNTH_TIMEOUT,
  );
});

describe('activity events (single account)', () => {
  let outdir: string;
  let single: Synthesized;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'jit-activity-single-'));
    single = synthesize(testConfig(), outdir);
  }, SYNTH_TIMEOUT);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('creates no custom bus and routes the default bus, read events included, to the first-use function', () => {
    // Prepare
    const broker = single.templates[BROKER_STACK];
    // Act
    const rules = resourcesOf(broker, 'AWS::Events::Rule')
      .map(([, r]) => r.Properties)
      .filter((p) => p.EventPattern);
    // Assess
    expect(resourcesOf(broker, 'AWS::Events::EventBus')).toEqual([]);
    expect(single.built.grantors).toEqual([]);
    expect(rules).toHaveLength(1);
    expect(rules[0].EventPattern).toEqual(PATTERN);
    expect(rules[0].EventBusName).toBeUndefined();
    expect(rules[0].State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    const target = broker.Resources[rules[0].Targets[0].Arn['Fn::GetAtt'][0]];
    expect(target.Properties.Environment.Variables.JIT_HANDLER).toBe('first-use');
  });

  it('passes cdk-nag AwsSolutions', () => {
    // Assess
    expectNagClean(single);
  });
});
