import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBrokerApp } from '../../lib/app.ts';
import { BOB, testConfig } from '../support/fakes.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped.
type Json = any;

const SYNTH_TIMEOUT = 180_000;
const slackPolicy = testConfig({
  slack: { defaultChannel: 'C0APPROVALS', users: { U0BOB: { approver: BOB } } },
});

function synth(policy: ReturnType<typeof testConfig>, outdir: string) {
  // No bundling (the functions' code is not under test here); cdk-nag runs: a finding throws on synth.
  const built = buildBrokerApp({
    policy,
    nag: true,
    appProps: { outdir, context: { 'aws:cdk:bundling-stacks': [] } },
  });
  built.app.synth();
  return Template.fromStack(built.broker);
}

/** Handler name (JIT_HANDLER) → logical id of its execution role. */
function rolesByHandler(template: Template): Record<string, string> {
  const out: Record<string, string> = {};
  for (const fn of Object.values<Json>(template.findResources('AWS::Lambda::Function'))) {
    const handler = fn.Properties.Environment?.Variables?.JIT_HANDLER;
    if (handler) out[handler] = fn.Properties.Role['Fn::GetAtt'][0];
  }
  return out;
}

/** Role logical ids whose policies allow `action` on a resource referencing `logicalId`. */
function rolesAllowed(template: Template, action: string, logicalId: string): string[] {
  const roles: string[] = [];
  for (const policy of Object.values<Json>(template.findResources('AWS::IAM::Policy'))) {
    const hit = policy.Properties.PolicyDocument.Statement.some(
      (s: Json) =>
        s.Effect === 'Allow' &&
        [s.Action].flat().includes(action) &&
        JSON.stringify(s.Resource).includes(`"${logicalId}"`),
    );
    if (hit) roles.push(...policy.Properties.Roles.map((r: Json) => r.Ref));
  }
  return roles.sort();
}

function secretId(template: Template, name: string): string {
  const [id] = Object.keys(
    template.findResources('AWS::SecretsManager::Secret', { Properties: { Name: name } }),
  );
  if (!id) throw new Error(`no secret ${name}`);
  return id;
}

describe('broker app with Slack approvals', () => {
  let outdir: string;
  let broker: Template;
  let plain: Template;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'jit-infra-slack-'));
    broker = synth(slackPolicy, join(outdir, 'slack'));
    plain = synth(testConfig(), join(outdir, 'plain'));
  }, SYNTH_TIMEOUT);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('serves POST /slack/interactions without IAM auth, on the Slack function only', () => {
    // Prepare
    const [slackFn] = Object.keys(
      broker.findResources('AWS::Lambda::Function', {
        Properties: { Environment: { Variables: { JIT_HANDLER: 'slack' } } },
      }),
    );
    // Act
    const open = Object.values<Json>(
      broker.findResources('AWS::ApiGateway::Method', { Properties: { AuthorizationType: 'NONE' } }),
    );
    // Assess
    expect(slackFn).toBeDefined();
    expect(open).toHaveLength(1);
    expect(open[0].Properties.HttpMethod).toBe('POST');
    expect(JSON.stringify(open[0].Properties.Integration.Uri)).toContain(`"${slackFn}"`);
  });

  it('lets only the Slack function read the signing secret', () => {
    // Prepare
    const roles = rolesByHandler(broker);
    // Act
    const readers = rolesAllowed(
      broker,
      'secretsmanager:GetSecretValue',
      secretId(broker, 'JitBroker/slack/signing-secret'),
    );
    // Assess
    expect(readers).toEqual([roles.slack]);
  });

  it('lets the card writers (first-use included) read the bot token, and not the validate function', () => {
    // Prepare
    const roles = rolesByHandler(broker);
    // Act
    const readers = rolesAllowed(
      broker,
      'secretsmanager:GetSecretValue',
      secretId(broker, 'JitBroker/slack/bot-token'),
    );
    // Assess
    expect(readers).toEqual(
      [
        roles.slack,
        roles['await-approval'],
        roles.grant,
        roles.revoke,
        roles.api,
        roles['first-use'],
      ].sort() as string[],
    );
    expect(readers).not.toContain(roles.validate);
  });

  it('lets the Slack function answer task tokens but never start executions or touch IAM', () => {
    // Prepare
    const role = rolesByHandler(broker).slack;
    // Act
    const actions = Object.values<Json>(broker.findResources('AWS::IAM::Policy'))
      .filter((p) => p.Properties.Roles.some((r: Json) => r.Ref === role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s: Json) => [s.Action].flat()));
    // Assess
    expect(actions).toContain('states:SendTaskSuccess');
    expect(actions).not.toContain('states:StartExecution');
    expect(actions.filter((a: string) => a.startsWith('iam:') || a.startsWith('sts:'))).toEqual([]);
  });

  it('outputs the interactivity request URL and the secret names', () => {
    // Act
    const outputs = broker.findOutputs('*');
    // Assess
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['SlackInteractionsUrl', 'SlackSigningSecretName', 'SlackBotTokenSecretName']),
    );
    expect(JSON.stringify(outputs.SlackInteractionsUrl)).toContain('/slack/interactions');
  });

  it('adds nothing Slack when the config has no slack section', () => {
    // Act
    const secrets = plain.findResources('AWS::SecretsManager::Secret');
    const open = plain.findResources('AWS::ApiGateway::Method', {
      Properties: { AuthorizationType: 'NONE' },
    });
    // Assess
    expect(secrets).toEqual({});
    expect(open).toEqual({});
    plain.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Environment: { Variables: { JIT_HANDLER: 'slack' } } },
      0,
    );
  });
});
