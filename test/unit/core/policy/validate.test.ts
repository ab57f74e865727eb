// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text here.
import { describe, expect, it } from 'vitest';
import { type BrokerError, InvalidRequestError, NotEligibleError } from '#core/errors.ts';
import {
  buildGrantPolicy,
  INLINE_POLICY_LIMITS,
  isoSeconds,
  policySize,
} from '#core/grants/policy-document.ts';
import type { PolicyConfig } from '#core/policy/config.ts';
import { validateRequest } from '#core/policy/validate.ts';
import { ACCOUNT, ALICE, arn, MALLORY, testConfig, validBody } from '../../../support/fakes.ts';

type ErrorClass = typeof InvalidRequestError | typeof NotEligibleError;

/** Runs validateRequest and returns what it threw; fails the test when it accepts. */
function refusal(body: unknown, caller = ALICE, config: PolicyConfig = testConfig()): BrokerError {
  try {
    const accepted = validateRequest(body, caller, config);
    throw new Error(`expected a refusal, got rule ${accepted.rule.id}`);
  } catch (error) {
    if (error instanceof InvalidRequestError || error instanceof NotEligibleError) return error;
    throw error;
  }
}

/** Asserts the error class and that `field` is among the fields named in the details. */
function expectRefused(error: BrokerError, type: ErrorClass, field: string): void {
  expect(error).toBeInstanceOf(type);
  expect(error.details?.map((d) => d.field)).toContain(field);
}

const permission = (actions: string[], resources = ['arn:aws:s3:::app-data/reports/*']) => ({
  permissions: [{ actions, resources }],
});

describe('validateRequest', () => {
  it('accepts a request within the rule and names the rule', () => {
    // Prepare
    const body = validBody();
    // Act
    const valid = validateRequest(body, ALICE, testConfig());
    // Assess
    expect(valid).toMatchObject({
      kind: 'policy',
      target: arn.role('app-reader'),
      targetType: 'role',
      durationSeconds: 900,
      reason: 'investigate INC-42 report export',
      ticket: 'INC-42',
    });
    expect(valid.rule.id).toBe('app-read');
  });

  describe('global deny list', () => {
    it.each([
      '*',
      'iam:*',
      'iam:PassRole',
      'iam:passrole',
      'iam:Pass*',
      'iam:?assRole',
      'iam:CreateAccessKey',
      'sts:*',
      'sts:AssumeRole',
      'sts:Assume*',
      'organizations:*',
      'organizations:LeaveOrganization',
      'account:*',
      'account:CloseAccount',
    ])('refuses %s naming the action field', (action) => {
      // Prepare
      const body = validBody(permission([action]));
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'permissions[0].actions[0]');
      expect(error.details?.[0]?.message).toMatch(/globally denied/);
    });

    it('names the position of a denied action among allowed ones', () => {
      // Prepare
      const body = validBody({
        permissions: [
          { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/a'] },
          { actions: ['s3:GetObject', 'iam:PassRole'], resources: ['arn:aws:s3:::app-data/b'] },
        ],
      });
      // Act
      const error = refusal(body);
      // Assess
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.details?.map((d) => d.field)).toEqual(['permissions[1].actions[1]']);
    });

    it('refuses actions the config adds to the deny list', () => {
      // Prepare
      const config = testConfig({ globalDenyActions: ['kms:Decrypt'] });
      const body = validBody(permission(['kms:Decrypt']));
      // Act
      const error = refusal(body, ALICE, config);
      // Assess
      expectRefused(error, InvalidRequestError, 'permissions[0].actions[0]');
    });

    it('refuses a service part that is not lowercase service syntax', () => {
      // Prepare
      const body = validBody(permission(['IAM:PassRole']));
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'permissions[0].actions[0]');
    });
  });

  describe('actions and the rule', () => {
    it.each([
      ['s3:*', 'the whole service when the rule lists single actions'],
      ['s3:Get*', 'a prefix that reaches s3:GetObjectAcl and more'],
      ['s3:Get?bject', 'a single-character wildcard the rule does not list'],
      ['s3:GetObjec?', 'a trailing single-character wildcard'],
      ['s3:*Object', 'a leading wildcard'],
      ['dynamodb:G*', 'a prefix shorter than the rule pattern dynamodb:Get*'],
      ['s3:PutObject', 'an action the rule does not list'],
    ])('refuses %s (%s) as not eligible', (action) => {
      // Prepare
      const body = validBody(permission([action]));
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, NotEligibleError, 'permissions[0].actions[0]');
    });

    it('refuses s3:* against a rule that lists only s3:GetObject', () => {
      // Prepare: user-read allows s3:GetObject on any bucket, nothing else.
      const body = validBody({
        target: arn.user('svc-reader'),
        permissions: [{ actions: ['s3:*'], resources: ['arn:aws:s3:::any/*'] }],
      });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, NotEligibleError, 'permissions[0].actions[0]');
      expect(error.details?.[0]?.message).toMatch(/reaches beyond/);
    });

    it.each([
      ['s3:getobject', 'case-insensitively equal'],
      ['dynamodb:GetItem', 'matched by the rule pattern dynamodb:Get*'],
      ['dynamodb:Get?tem', 'a narrower wildcard inside dynamodb:Get*'],
      ['dynamodb:Get*', 'equal to the rule pattern'],
    ])('accepts %s (%s)', (action) => {
      // Prepare
      const body = validBody(permission([action]));
      // Act
      const valid = validateRequest(body, ALICE, testConfig());
      // Assess
      expect(valid.permissions[0]?.actions).toEqual([action]);
    });
  });

  describe('negated keys', () => {
    it.each(['NotAction', 'NotResource'])('refuses %s naming the field', (key) => {
      // Prepare
      const body = validBody({
        permissions: [
          { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/a'] },
          { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/b'], [key]: ['iam:*'] },
        ],
      });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, `permissions[1].${key}`);
      expect(error.details?.[0]?.message).toMatch(/never issued/);
    });

    it('refuses a top-level NotAction as an unknown field', () => {
      // Prepare
      const body = validBody({ NotAction: ['iam:*'] });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'NotAction');
    });
  });

  describe('resources', () => {
    it.each([
      ['arn:aws:s3:::other-bucket/secret', 'another bucket'],
      ['arn:aws:s3:::app-*', 'a wildcard broader than the rule'],
      ['arn:aws:s3:::app-data*', 'a wildcard that also reaches app-database'],
      ['arn:aws:s3:::app-dat?/x', 'a single-character wildcard the rule does not have'],
      ['*', 'every resource'],
      ['arn:aws:S3:::app-data/x', 'a different case (ARNs compare case-sensitively)'],
    ])('refuses %s (%s) as not eligible', (resource) => {
      // Prepare
      const body = validBody(permission(['s3:GetObject'], ['arn:aws:s3:::app-data/ok', resource]));
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, NotEligibleError, 'permissions[0].resources[1]');
    });

    it('refuses a resource that is not an ARN', () => {
      // Prepare
      const body = validBody(permission(['s3:GetObject'], ['app-data/x']));
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'permissions[0].resources[0]');
    });
  });

  describe('ARN segments and policy variables', () => {
    /** One rule with wildcards in region, account-scoped resources and a per-user home prefix. */
    const segmentsConfig = (requesters = [arn.assumed('Developer', '*')]) =>
      testConfig({
        rules: [
          {
            id: 'orders',
            requesters,
            targets: [arn.role('app-*')],
            actions: ['dynamodb:GetItem', 'lambda:InvokeFunction', 's3:GetObject'],
            resources: [
              `arn:aws:dynamodb:eu-*:${ACCOUNT}:table/orders-*`,
              `arn:aws:lambda:*:${ACCOUNT}:function:app-*`,
              'arn:aws:s3:::home/${aws:username}/*',
            ],
            maxDurationSeconds: 3600,
            approval: { approvers: [arn.assumed('Approver', '*')] },
          },
        ],
      });
    const asking = (actions: string[], resource: string) =>
      validBody({ permissions: [{ actions, resources: [resource] }] });

    it.each([
      [
        ['dynamodb:GetItem'],
        `arn:aws:dynamodb:eu-west-1:999988887777:x:${ACCOUNT}:table/orders-*`,
        'a region wildcard stretched over another account',
      ],
      [
        ['lambda:InvokeFunction'],
        `arn:aws:lambda:*:*:*:${ACCOUNT}:function:app-*`,
        'a star account hidden behind the star region',
      ],
      [
        ['dynamodb:GetItem'],
        'arn:aws:dynamodb:eu-west-1:*:table/orders-1',
        'a star account against the rule account',
      ],
    ])('refuses %s on %s (%s) as not eligible', (actions, resource) => {
      // Prepare
      const body = asking(actions, resource);
      // Act
      const error = refusal(body, ALICE, segmentsConfig());
      // Assess
      expectRefused(error, NotEligibleError, 'permissions[0].resources[0]');
      expect(error.details?.[0]?.message).toMatch(/segments compare one by one/);
    });

    it('accepts a resource within the rule segment by segment', () => {
      // Prepare
      const body = asking(['dynamodb:GetItem'], `arn:aws:dynamodb:eu-west-?:${ACCOUNT}:table/orders-*`);
      // Act
      const valid = validateRequest(body, ALICE, segmentsConfig());
      // Assess
      expect(valid.rule.id).toBe('orders');
    });

    it('refuses a resource with fewer than six segments as no well-formed ARN', () => {
      // Prepare
      const body = validBody(permission(['s3:GetObject'], ['arn:aws:s3:app-data/x']));
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'permissions[0].resources[0]');
      expect(error.details?.[0]?.message).toMatch(/not a well-formed ARN/);
    });

    it('refuses a resource of a service no rule resource names, saying so', () => {
      // Prepare
      const body = validBody(permission(['s3:GetObject'], [`arn:aws:sqs:eu-west-1:${ACCOUNT}:app-queue`]));
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, NotEligibleError, 'permissions[0].resources[0]');
      expect(error.details?.[0]?.message).toMatch(/service "sqs"/);
    });

    it('refuses a policy variable the rule does not hold at that place', () => {
      // Prepare: app-read allows arn:aws:s3:::app-data/*, which says nothing about the caller's name.
      const body = validBody(permission(['s3:GetObject'], ['arn:aws:s3:::app-data/${aws:username}/*']));
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, NotEligibleError, 'permissions[0].resources[0]');
      expect(error.details?.[0]?.message).toMatch(/policy variable \$\{aws:username\}/);
    });

    it('accepts a policy variable the rule holds at the same place', () => {
      // Prepare
      const body = asking(['s3:GetObject'], 'arn:aws:s3:::home/${aws:username}/notes.txt');
      // Act
      const valid = validateRequest(body, ALICE, segmentsConfig());
      // Assess
      expect(valid.permissions[0]?.resources).toEqual(['arn:aws:s3:::home/${aws:username}/notes.txt']);
    });

    it('refuses a second policy variable where the rule has a star', () => {
      // Prepare
      const body = asking(['s3:GetObject'], 'arn:aws:s3:::home/${aws:username}/${aws:userid}');
      // Act
      const error = refusal(body, ALICE, segmentsConfig());
      // Assess
      expectRefused(error, NotEligibleError, 'permissions[0].resources[0]');
      expect(error.details?.[0]?.message).toMatch(/policy variable/);
    });

    it('refuses a "${" that opens no policy variable', () => {
      // Prepare
      const body = validBody(permission(['s3:GetObject'], ['arn:aws:s3:::app-data/${aws:username']));
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'permissions[0].resources[0]');
    });

    it('refuses a policy variable in an action, saying so', () => {
      // Prepare
      const body = validBody(permission(['s3:${aws:username}']));
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'permissions[0].actions[0]');
      expect(error.details?.[0]?.message).toMatch(/policy variable/);
    });

    it('never lets a requester pattern with a star account match across a colon', () => {
      // Prepare: the caller's account segment is 999988887777, whatever follows it.
      const config = segmentsConfig(['arn:aws:sts::*:assumed-role/Developer/*']);
      const caller = `arn:aws:sts::999988887777:x:${ACCOUNT}:assumed-role/Developer/eve`;
      const body = asking(['dynamodb:GetItem'], `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/orders-1`);
      // Act
      const error = refusal(body, caller, config);
      const accepted = validateRequest(body, ALICE, config);
      // Assess
      expectRefused(error, NotEligibleError, 'target');
      expect(accepted.rule.id).toBe('orders');
    });
  });

  describe('duration', () => {
    it('refuses a duration over the rule maximum', () => {
      // Prepare: app-read allows 3600 s; the global maximum is 43 200 s.
      const body = validBody({ durationSeconds: 3601 });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'durationSeconds');
      expect(error.details?.[0]?.message).toMatch(/app-read/);
    });

    it('accepts exactly the rule maximum', () => {
      // Prepare
      const body = validBody({ durationSeconds: 3600 });
      // Act
      const valid = validateRequest(body, ALICE, testConfig());
      // Assess
      expect(valid.durationSeconds).toBe(3600);
    });

    it.each([
      [59, 'under the global minimum'],
      [43_201, 'over the global maximum'],
      [0, 'zero'],
      [-5, 'negative'],
      [90.5, 'not whole seconds'],
      ['900', 'a string'],
    ] as [unknown, string][])('refuses %s (%s)', (durationSeconds) => {
      // Prepare
      const body = validBody({ durationSeconds });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'durationSeconds');
    });

    it('caps the default duration at the rule maximum', () => {
      // Prepare: default 3000 s, logs-auto allows 1800 s.
      const config = testConfig({ defaultDurationSeconds: 3000 });
      const body = validBody({
        target: arn.role('ops-tools'),
        permissions: [
          { actions: ['logs:GetLogEvents'], resources: [`arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:x`] },
        ],
        durationSeconds: undefined,
      });
      // Act
      const valid = validateRequest(body, ALICE, config);
      // Assess
      expect(valid.durationSeconds).toBe(1800);
    });
  });

  describe('body shape', () => {
    it.each(['requester', 'caller', 'ruleId', 'Effect'])('refuses the unknown top-level field %s', (key) => {
      // Prepare
      const body = validBody({ [key]: 'x' });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, key);
    });

    it('refuses a missing reason', () => {
      // Prepare
      const { reason: _reason, ...body } = validBody();
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'reason');
    });

    it('refuses a reason of only whitespace', () => {
      // Prepare
      const body = validBody({ reason: '      ' });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'reason');
    });

    it('refuses a kind that does not exist', () => {
      // Prepare
      const body = validBody({ kind: 'root' });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'kind');
    });

    it('refuses a credentials grant when only policy rules list the target', () => {
      // Prepare: every rule of the test config hands out inline policies.
      const body = validBody({ kind: 'credentials' });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, NotEligibleError, 'target');
    });

    it.each([null, 'text', [], 42])('refuses a body that is not an object (%j)', (body) => {
      // Act
      const error = refusal(body);
      // Assess
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.details?.length).toBeGreaterThan(0);
    });
  });

  describe('target', () => {
    it.each([
      [arn.role('app-*'), 'a star in the name'],
      [arn.role('app-?eader'), 'a question mark in the name'],
      ['arn:aws:iam::*:role/app-reader', 'a wildcard account'],
      ['app-reader', 'a bare name'],
      ['arn:aws:s3:::app-data', 'not an IAM ARN'],
      [arn.assumed('app-reader', 'x'), 'a session ARN'],
      ['arn:aws:iam::111122223333:group/app-readers', 'a group'],
    ])('refuses %s (%s)', (target) => {
      // Prepare
      const body = validBody({ target });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, InvalidRequestError, 'target');
    });

    it('refuses a protected principal as not eligible', () => {
      // Prepare: app-broker-* matches the rule's app-* targets but is protected.
      const body = validBody({ target: arn.role('app-broker-grant') });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, NotEligibleError, 'target');
    });

    it('refuses a protected principal hidden behind a path', () => {
      // Prepare: the IAM port addresses principals by name, so role/app-x/app-broker-grant IS app-broker-grant.
      const body = validBody({ target: 'arn:aws:iam::111122223333:role/app-x/app-broker-grant' });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, NotEligibleError, 'target');
    });

    it('refuses a protected principal named in another case', () => {
      // Prepare: IAM names are not distinguished by case.
      const config = testConfig({
        rules: [
          {
            id: 'any-role',
            requesters: [arn.assumed('Developer', '*')],
            targets: [arn.role('*')],
            actions: ['s3:GetObject'],
            resources: ['arn:aws:s3:::app-data/*'],
            maxDurationSeconds: 3600,
            approval: { approvers: [arn.assumed('Approver', '*')] },
          },
        ],
      });
      const body = validBody({ target: arn.role('App-Broker-Grant') });
      // Act
      const error = refusal(body, ALICE, config);
      // Assess
      expectRefused(error, NotEligibleError, 'target');
    });

    it('refuses a path that lets a rule pattern reach a principal outside the rule', () => {
      // Prepare: role/app-* must not reach the role named Admin through a made-up path "app-x/".
      const body = validBody({ target: 'arn:aws:iam::111122223333:role/app-x/Admin' });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, NotEligibleError, 'target');
    });

    it('accepts a role with a path when both the ARN and the name match the rule', () => {
      // Prepare
      const body = validBody({ target: 'arn:aws:iam::111122223333:role/app-team/app-reader' });
      // Act
      const valid = validateRequest(body, ALICE, testConfig());
      // Assess
      expect(valid.rule.id).toBe('app-read');
    });

    it('refuses a target no rule lists for the caller', () => {
      // Prepare
      const body = validBody({ target: arn.role('payments-admin') });
      // Act
      const error = refusal(body);
      // Assess
      expectRefused(error, NotEligibleError, 'target');
    });
  });

  describe('caller', () => {
    it('refuses a caller who is not a requester of any rule as not eligible', () => {
      // Prepare
      const body = validBody();
      // Act
      const error = refusal(body, MALLORY);
      // Assess
      expectRefused(error, NotEligibleError, 'target');
    });
  });

  describe('inline policy size', () => {
    /** Grows the last resource so the policy is exactly `size` characters. */
    function bodyOfSize(size: number, target: string, prefix: string, count: number) {
      const resources = Array.from({ length: count }, (_, i) => `${prefix}${i}-${'x'.repeat(1400)}`);
      const sizeOf = (rs: string[]) =>
        policySize(buildGrantPolicy([{ actions: ['s3:GetObject'], resources: rs }], isoSeconds(new Date(0))));
      const last = resources.length - 1;
      resources[last] = `${resources[last]}${'y'.repeat(size - sizeOf(resources))}`;
      expect(sizeOf(resources)).toBe(size);
      return validBody({ target, permissions: [{ actions: ['s3:GetObject'], resources }] });
    }

    it.each([
      ['user', arn.user('svc-reader'), 'arn:aws:s3:::bucket/', 1],
      ['role', arn.role('app-reader'), 'arn:aws:s3:::app-data/', 7],
    ] as const)(
      'refuses a %s policy one character over the limit, naming permissions',
      (type, target, prefix, count) => {
        // Prepare
        const limit = INLINE_POLICY_LIMITS[type];
        const body = bodyOfSize(limit + 1, target, prefix, count);
        // Act
        const error = refusal(body);
        // Assess
        expectRefused(error, InvalidRequestError, 'permissions');
        expect(error.details?.[0]?.message).toContain(String(limit));
      },
    );

    it.each([
      ['user', arn.user('svc-reader'), 'arn:aws:s3:::bucket/', 1],
      ['role', arn.role('app-reader'), 'arn:aws:s3:::app-data/', 7],
    ] as const)('accepts a %s policy of exactly the limit', (type, target, prefix, count) => {
      // Prepare
      const body = bodyOfSize(INLINE_POLICY_LIMITS[type], target, prefix, count);
      // Act
      const valid = validateRequest(body, ALICE, testConfig());
      // Assess
      expect(valid.targetType).toBe(type);
    });
  });
});
