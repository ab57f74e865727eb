import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProtected } from '#core/policy/validate.ts';
import { buildBrokerApp } from '../../lib/app.ts';
import { STATE } from '../../lib/workflow.ts';
import { arn, testConfig, testConfigInput } from '../support/fakes.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped
type Json = Record<string, any>;

const CRED_ROLES = arn.role('jit-release-*');

/** The inline policy statements attached to the role of the function with the given handler name. */
function statementsOfHandler(t: Template, handler: string): Json[] {
  const fn = Object.values<Json>(
    t.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { JIT_HANDLER: handler } } },
    }),
  )[0];
  const roleId = fn?.Properties.Role['Fn::GetAtt'][0];
  return Object.values<Json>(t.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('broker app with a credentials rule', () => {
  let outdir: string;
  let broker: Template;
  let built: ReturnType<typeof buildBrokerApp>;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'jit-infra-cred-'));
    const base = testConfigInput();
    const policy = testConfig({
      rules: [
        ...base.rules,
        {
          id: 'release',
          kind: 'credentials',
          requesters: [arn.assumed('Developer', '*')],
          targets: [CRED_ROLES],
          actions: ['s3:PutObject'],
          resources: ['arn:aws:s3:::release/*'],
          maxDurationSeconds: 3600,
          approval: 'auto',
        },
      ],
    });
    built = buildBrokerApp({ policy, nag: true, appProps: { outdir } });
    built.app.synth(); // throws on an unacknowledged cdk-nag finding
    broker = Template.fromStack(built.broker);
  }, 180_000);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('lets only the grant function assume the credential roles, with tags and source identity', () => {
    // Act
    const grant = statementsOfHandler(broker, 'grant').filter(
      (s) => s.Effect === 'Allow' && [s.Action].flat().includes('sts:AssumeRole'),
    );
    const others = ['api', 'revoke', 'validate', 'await-approval'].flatMap((h) =>
      statementsOfHandler(broker, h).filter(
        (s) => s.Effect === 'Allow' && JSON.stringify(s.Action).includes('sts:'),
      ),
    );
    // Assess
    expect(grant).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
        Resource: CRED_ROLES,
      }),
    ]);
    expect(others).toEqual([]);
  });

  it('seals credentials with a rotating key: grant may only encrypt, the API may only decrypt', () => {
    // Act
    // The evidence archive's key (statement `EvidenceKey`, API: Decrypt to verify) and the alert topic's
    // (`AlertTopicKey`, grant: publish break-glass alerts) are other keys.
    const otherKeys = new Set(['EvidenceKey', 'AlertTopicKey']);
    const kms = (h: string) =>
      statementsOfHandler(broker, h).filter(
        (s) => JSON.stringify(s.Action).includes('kms:') && !otherKeys.has(s.Sid ?? ''),
      );
    // Assess
    broker.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    expect(kms('grant').map((s) => s.Action)).toEqual(['kms:Encrypt']);
    expect(kms('api').map((s) => s.Action)).toEqual(['kms:Decrypt']);
    expect(kms('revoke')).toEqual([]);
  });

  it('waits for the credentials to expire before removing the session deny', () => {
    // Prepare
    const def = broker.findResources('AWS::StepFunctions::StateMachine');
    const parts = Object.values<Json>(def)[0]?.Properties.DefinitionString['Fn::Join'][1] as unknown[];
    const asl = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : '#{token}')).join(''));
    // Act
    const choice = asl.States[STATE.sessionCleanup];
    const wait = asl.States[STATE.waitForCredentialsExpiry];
    // Assess
    expect(asl.States[STATE.revoke].Next).toBe(STATE.sessionCleanup);
    expect(choice.Choices).toEqual([
      expect.objectContaining({
        Variable: '$.revoke.cleanupAt',
        IsString: true,
        Next: STATE.waitForCredentialsExpiry,
      }),
    ]);
    expect(wait).toMatchObject({
      Type: 'Wait',
      TimestampPath: '$.revoke.cleanupAt',
      Next: STATE.removeSessionDeny,
    });
    expect(asl.States[STATE.removeSessionDeny].Retry).toContainEqual(
      expect.objectContaining({ ErrorEquals: expect.arrayContaining(['RetryableAwsError']) }),
    );
  });

  it('runs the sweeper every 5 minutes, with nothing but read-only listing on "*"', () => {
    // Act
    const sweeper = statementsOfHandler(broker, 'sweeper');
    const allowed = sweeper.filter((s) => s.Effect === 'Allow');
    const iamActions = allowed.flatMap((s) => [s.Action].flat()).filter((a: string) => a.startsWith('iam:'));
    const iamOnStar = allowed
      .filter((s) => s.Resource === '*')
      .flatMap((s) => [s.Action].flat())
      .filter((a: string) => a.startsWith('iam:'));
    // Assess
    broker.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    expect(iamActions).not.toContain('iam:PutUserPolicy');
    expect(iamActions).toEqual(
      expect.arrayContaining(['iam:DeleteRolePolicy', 'iam:GetRolePolicy', 'iam:ListRolePolicies']),
    );
    expect(iamOnStar.sort()).toEqual(['iam:ListRoles', 'iam:ListUsers']);
  });

  it('alarms on counted GrantFailed/RevokeFailed outcomes, not on every failed execution, and on sweeper errors', () => {
    // Act
    const alarms = Object.values<Json>(broker.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties,
    );
    const outcomeAlarm = alarms.find((a) => a.Metrics);
    const metrics = (outcomeAlarm?.Metrics ?? []).filter((m: Json) => m.MetricStat);
    // Assess
    expect(alarms).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 1 }),
      ]),
    );
    expect(alarms.filter((a) => a.MetricName === 'ExecutionsFailed')).toEqual([]);
    expect(metrics.map((m: Json) => m.MetricStat.Metric.MetricName).sort()).toEqual([
      'GrantFailed',
      'RevokeFailed',
    ]);
    for (const m of metrics) {
      expect(m.MetricStat.Metric.Namespace).toBe('JitBroker');
      expect(m.MetricStat.Metric.Dimensions).toEqual([{ Name: 'Broker', Value: 'JitBroker' }]);
    }
    expect(outcomeAlarm?.Threshold).toBe(1);
  });

  it('gives the API function no iam or sts action at all (early revoke goes through the revoke function)', () => {
    // Act
    const api = statementsOfHandler(broker, 'api').filter((s) => s.Effect === 'Allow');
    const actions = api.flatMap((s) => [s.Action].flat() as string[]);
    // Assess
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => /^(iam|sts):/i.test(a))).toEqual([]);
    expect(actions.filter((a) => a === 'kms:Encrypt')).toEqual([]);
    expect(actions).toContain('lambda:InvokeFunction');
  });

  it('never lets the broker assume or write its own roles or protected principals, in IAM and in the core', () => {
    // Prepare
    const grant = statementsOfHandler(broker, 'grant');
    const deny = grant.find((s) => s.Sid === 'NeverTouchBrokerOrProtected');
    const ownRole = 'arn:aws:iam::111122223333:role/JitBroker-GrantFunctionFnServiceRoleABC123';
    // Act
    const grantIamOnCredentialRoles = grant
      .filter((s) => s.Effect === 'Allow' && s.Resource === CRED_ROLES)
      .flatMap((s) => [s.Action].flat())
      .filter((a: string) => a.startsWith('iam:'));
    // Assess
    expect(deny?.Effect).toBe('Deny');
    expect(deny?.Action).toEqual(expect.arrayContaining(['iam:PutRolePolicy', 'sts:AssumeRole']));
    expect(grantIamOnCredentialRoles).toEqual(['iam:GetRole']);
    expect(isProtected(ownRole, built.broker.bundledPolicy)).toBe(true);
    expect(isProtected(ownRole.toLowerCase(), built.broker.bundledPolicy)).toBe(true);
    expect(isProtected(ownRole, built.broker.policy)).toBe(false);
  });

  it('tells every function its account, so a config for another account fails the cold start', () => {
    // Act
    const fns = Object.values<Json>(broker.findResources('AWS::Lambda::Function'));
    // Assess
    expect(fns.length).toBeGreaterThanOrEqual(6);
    for (const fn of fns)
      expect(fn.Properties.Environment.Variables.JIT_ACCOUNT_ID).toEqual({ Ref: 'AWS::AccountId' });
  });
});
