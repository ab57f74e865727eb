import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, NotEligibleError } from '#core/errors.ts';
import { covers, matches, overlaps } from '#core/patterns.ts';
import { buildGrantPolicy, isoSeconds } from '#core/policy.ts';
import { DEFAULT_DENIED_ACTIONS } from '#core/policy-config.ts';
import { isProtected, validateRequest } from '#core/validate-request.ts';
import { ACCOUNT, ALICE, arn, MALLORY, testConfig } from '../../support/fakes.ts';

const config = testConfig({ globalDenyActions: ['kms:*', 's3:DeleteBucket'] });
const ci = { caseInsensitive: true };

/** Actions around the rules' actions: exact, other case, wildcard variants, neighbours and denied ones. */
const ACTION_POOL = [
  's3:GetObject',
  's3:getobject',
  's3:GETOBJECT',
  's3:ListBucket',
  's3:Get*',
  's3:Get?bject',
  's3:GetObjec?',
  's3:*',
  's3:*Object',
  's3:PutObject',
  's3:DeleteBucket',
  's3:Delete*',
  'dynamodb:GetItem',
  'dynamodb:Get*',
  'dynamodb:Get?tem',
  'dynamodb:G*',
  'dynamodb:*',
  'dynamodb:PutItem',
  'logs:GetLogEvents',
  'logs:FilterLogEvents',
  'logs:*',
  'logs:Get*',
  '*',
  'iam:*',
  'iam:PassRole',
  'iam:Pass*',
  'iam:?assRole',
  'sts:AssumeRole',
  'sts:*',
  'organizations:*',
  'account:CloseAccount',
  'kms:Decrypt',
  'kms:*',
];

/** Resources inside and outside the rules, with wildcards narrower and broader than the rules'. */
const RESOURCE_POOL = [
  'arn:aws:s3:::app-data',
  'arn:aws:s3:::app-data/*',
  'arn:aws:s3:::app-data/reports/2026.csv',
  'arn:aws:s3:::app-data/reports/*',
  'arn:aws:s3:::app-dat?/x',
  'arn:aws:s3:::app-data*',
  'arn:aws:s3:::app-*',
  'arn:aws:s3:::other-bucket/x',
  'arn:aws:s3:::*',
  '*',
  `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/app-orders`,
  `arn:aws:dynamodb:*:${ACCOUNT}:table/app-*`,
  `arn:aws:dynamodb:*:${ACCOUNT}:table/*`,
  `arn:aws:dynamodb:eu-west-1:999999999999:table/app-orders`,
  `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/app/web`,
  `arn:aws:logs:*:*:log-group:*`,
];

const TARGETS = [
  arn.role('app-reader'),
  arn.role('ops-tools'),
  arn.user('svc-reader'),
  arn.role('app-broker-grant'),
  'arn:aws:iam::111122223333:role/app-x/app-broker-grant',
  'arn:aws:iam::111122223333:role/app-x/Admin',
  arn.role('payments-admin'),
  arn.user('app-reader'),
];

/** Concrete actions and resources used to check the grant's meaning independently of `covers`. */
const ACTION_CATALOGUE = [
  's3:GetObject',
  's3:GetObjectAcl',
  's3:GetBucketPolicy',
  's3:ListBucket',
  's3:PutObject',
  's3:DeleteBucket',
  's3:DeleteObject',
  'dynamodb:GetItem',
  'dynamodb:GetRecords',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'logs:GetLogEvents',
  'logs:FilterLogEvents',
  'logs:DeleteLogGroup',
  'iam:PassRole',
  'iam:CreateAccessKey',
  'sts:AssumeRole',
  'organizations:LeaveOrganization',
  'account:CloseAccount',
  'kms:Decrypt',
];
const RESOURCE_CATALOGUE = [
  'arn:aws:s3:::app-data',
  'arn:aws:s3:::app-data/reports/2026.csv',
  'arn:aws:s3:::app-database',
  'arn:aws:s3:::app-datx/x',
  'arn:aws:s3:::other-bucket/x',
  `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/app-orders`,
  `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/billing`,
  `arn:aws:dynamodb:eu-west-1:999999999999:table/app-orders`,
  `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/app/web`,
  `arn:aws:logs:eu-west-1:999999999999:log-group:/app/web`,
];

/** Mostly draws what a rule allows, sometimes wildcard variants around it, now and then anything. */
const nearly = (scenario: { good: readonly string[]; tricky: readonly string[] }, pool: readonly string[]) =>
  fc.oneof(
    { weight: 30, arbitrary: fc.constantFrom(...scenario.good) },
    { weight: 3, arbitrary: fc.constantFrom(...scenario.tricky) },
    { weight: 1, arbitrary: fc.constantFrom(...pool) },
  );

/** Per target family: actions and resources a rule allows, and near misses around them. */
const SCENARIOS = [
  {
    targets: {
      good: [arn.role('app-reader')],
      tricky: ['arn:aws:iam::111122223333:role/app-x/app-broker-grant'],
    },
    actions: {
      good: [
        's3:GetObject',
        's3:getobject',
        's3:ListBucket',
        'dynamodb:GetItem',
        'dynamodb:Get*',
        'dynamodb:Get?tem',
      ],
      tricky: ['s3:Get*', 's3:Get?bject', 'dynamodb:G*', 'iam:PassRole'],
    },
    resources: {
      good: [
        'arn:aws:s3:::app-data',
        'arn:aws:s3:::app-data/*',
        'arn:aws:s3:::app-data/reports/*',
        `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/app-orders`,
        `arn:aws:dynamodb:*:${ACCOUNT}:table/app-*`,
      ],
      tricky: ['arn:aws:s3:::app-data*', 'arn:aws:s3:::app-*', `arn:aws:dynamodb:*:${ACCOUNT}:table/*`],
    },
  },
  {
    targets: { good: [arn.role('ops-tools')], tricky: ['arn:aws:iam::111122223333:role/app-x/Admin'] },
    actions: {
      good: ['logs:GetLogEvents', 'logs:FilterLogEvents', 'logs:filterlogevents'],
      tricky: ['logs:Get*', 'logs:*', 'sts:AssumeRole'],
    },
    resources: {
      good: [`arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/app/web`, `arn:aws:logs:*:${ACCOUNT}:log-group:*`],
      tricky: ['arn:aws:logs:*:*:log-group:*', '*'],
    },
  },
  {
    targets: { good: [arn.user('svc-reader')], tricky: [arn.user('app-reader')] },
    actions: { good: ['s3:GetObject', 's3:GETOBJECT'], tricky: ['s3:GetObjec?', 's3:*', '*'] },
    resources: {
      good: ['arn:aws:s3:::app-data/*', 'arn:aws:s3:::other-bucket/x', 'arn:aws:s3:::*'],
      tricky: ['*', 'arn:aws:s3:::app-dat?/x'],
    },
  },
];

const requestArb = fc
  .record({
    scenario: fc.constantFrom(...SCENARIOS),
    caller: fc.constantFrom(ALICE, ALICE, ALICE, MALLORY),
    startMs: fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') }),
  })
  .chain(({ scenario, caller, startMs }) =>
    fc.record({
      caller: fc.constant(caller),
      startMs: fc.constant(startMs),
      body: fc.record(
        {
          kind: fc.constant('policy'),
          target: nearly(scenario.targets, TARGETS),
          permissions: fc.array(
            fc.record({
              actions: fc.array(nearly(scenario.actions, ACTION_POOL), { minLength: 1, maxLength: 3 }),
              resources: fc.array(nearly(scenario.resources, RESOURCE_POOL), { minLength: 1, maxLength: 3 }),
            }),
            { minLength: 1, maxLength: 3 },
          ),
          durationSeconds: fc.oneof(
            { weight: 3, arbitrary: fc.integer({ min: 60, max: 1800 }) },
            { weight: 1, arbitrary: fc.integer({ min: 1, max: 50_000 }) },
          ),
          reason: fc.constant('property run'),
        },
        { requiredKeys: ['target', 'permissions', 'reason'] },
      ),
    }),
  );

/** The bare `*` deny entry forbids open services, not every action; the others forbid what they match. */
function reachesDenied(action: string, denyList: readonly string[]): boolean {
  const service = action.split(':')[0] ?? '';
  if (action === '*' || service.includes('*') || service.includes('?')) return true;
  return denyList.filter((d) => d !== '*').some((d) => overlaps(d, action, ci));
}

describe('grant policy property', () => {
  it('holds only expiring Allow statements within the rule and outside the deny list', () => {
    // Prepare
    const outcomes = { accepted: 0, refused: 0 };
    // Act
    fc.assert(
      fc.property(requestArb, ({ caller, body, startMs }) => {
        let valid: ReturnType<typeof validateRequest>;
        try {
          valid = validateRequest(body, caller, config);
        } catch (error) {
          // Assess (refusal): always a domain error that names at least one field.
          expect(error instanceof InvalidRequestError || error instanceof NotEligibleError).toBe(true);
          expect((error as InvalidRequestError).details?.length).toBeGreaterThan(0);
          outcomes.refused++;
          return;
        }
        outcomes.accepted++;
        const expiresAt = isoSeconds(new Date(startMs + valid.durationSeconds * 1000));
        const policy = buildGrantPolicy(valid.permissions, expiresAt);
        const rule = valid.rule;

        // Assess (acceptance): who and how long.
        expect(rule.requesters.some((p) => matches(p, caller))).toBe(true);
        expect(rule.targets.some((p) => matches(p, valid.target))).toBe(true);
        expect(isProtected(valid.target, config)).toBe(false);
        expect(valid.durationSeconds).toBeLessThanOrEqual(rule.maxDurationSeconds);
        expect(valid.durationSeconds).toBeGreaterThanOrEqual(config.minDurationSeconds);
        expect(policy.Statement).toHaveLength(body.permissions.length);

        for (const statement of policy.Statement) {
          const keys = Object.keys(statement).sort();
          expect(keys).toEqual(['Action', 'Condition', 'Effect', 'Resource', 'Sid']);
          expect(statement.Effect).toBe('Allow');
          expect(statement.Condition).toEqual({ DateLessThan: { 'aws:CurrentTime': expiresAt } });
          for (const action of statement.Action) {
            expect(action).not.toBe('*');
            expect(rule.actions.some((allowed) => covers(allowed, action, ci))).toBe(true);
            expect(reachesDenied(action, config.globalDenyActions)).toBe(false);
            // Every concrete action the statement allows is one the rule allows.
            for (const concrete of ACTION_CATALOGUE.filter((c) => matches(action, c, ci))) {
              expect(rule.actions.some((allowed) => matches(allowed, concrete, ci))).toBe(true);
            }
          }
          for (const resource of statement.Resource) {
            for (const concrete of RESOURCE_CATALOGUE.filter((c) => matches(resource, c))) {
              expect(rule.resources.some((allowed) => matches(allowed, concrete))).toBe(true);
            }
            expect(rule.resources.some((allowed) => covers(allowed, resource))).toBe(true);
          }
        }
        expect(JSON.stringify(policy)).not.toMatch(/NotAction|NotResource|"Deny"/);
      }),
      { numRuns: 400 },
    );
    // Assess (not vacuous): both branches ran.
    expect(outcomes.accepted).toBeGreaterThan(25);
    expect(outcomes.refused).toBeGreaterThan(10);
  });

  it('refuses every request that reaches a default deny-list entry', () => {
    // Prepare
    const denied = fc.constantFrom(...ACTION_POOL.filter((a) => reachesDenied(a, DEFAULT_DENIED_ACTIONS)));
    // Act / Assess
    fc.assert(
      fc.property(denied, fc.integer({ min: 0, max: 2 }), (action, at) => {
        const actions = ['s3:GetObject', 's3:GetObject'];
        actions.splice(at, 0, action);
        const body = {
          target: arn.role('app-reader'),
          permissions: [{ actions, resources: ['arn:aws:s3:::app-data/x'] }],
          reason: 'property run',
        };
        let thrown: unknown;
        try {
          validateRequest(body, ALICE, config);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(InvalidRequestError);
        expect((thrown as InvalidRequestError).details?.map((d) => d.field)).toEqual([
          `permissions[0].actions[${at}]`,
        ]);
      }),
      { numRuns: 100 },
    );
  });
});
