// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables are literal ${…} text here.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, NotEligibleError } from '#core/errors.ts';
import { buildGrantPolicy, isoSeconds } from '#core/grants/policy-document.ts';
import { covers, matches, overlaps } from '#core/patterns.ts';
import { DEFAULT_DENIED_ACTIONS } from '#core/policy/config.ts';
import { isProtected, validateRequest } from '#core/policy/validate.ts';
import { ACCOUNT, ALICE, arn, MALLORY, testConfig } from '../../../support/fakes.ts';

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
  // Colons where a glob over the whole ARN would let a rule's region or account wildcard absorb them.
  `arn:aws:dynamodb:eu-west-1:999999999999:x:${ACCOUNT}:table/app-*`,
  `arn:aws:dynamodb:*:*:*:${ACCOUNT}:table/app-*`,
  `arn:aws:logs:eu-west-1:999999999999:x:${ACCOUNT}:log-group:*`,
  'arn:aws:s3:::app-data/${aws:username}',
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
      tricky: [
        'arn:aws:s3:::app-data*',
        'arn:aws:s3:::app-*',
        `arn:aws:dynamodb:*:${ACCOUNT}:table/*`,
        `arn:aws:dynamodb:eu-west-1:999999999999:x:${ACCOUNT}:table/app-*`,
        `arn:aws:dynamodb:*:*:*:${ACCOUNT}:table/app-*`,
        'arn:aws:s3:::app-data/${aws:username}/*',
      ],
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
      tricky: [
        'arn:aws:logs:*:*:log-group:*',
        '*',
        `arn:aws:logs:eu-west-1:999999999999:x:${ACCOUNT}:log-group:*`,
        `arn:aws:logs:*:999999999999:${ACCOUNT}:log-group:/app/web`,
      ],
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

/**
 * IAM's reading of an ARN, written apart from #core on purpose: five segments that never hold a colon,
 * then the resource part, which may.
 */
const IAM_ARN = /^arn:([^:]*):([^:]*):([^:]*):([^:]*):(.*)$/s;

/** One segment's glob as an anchored regular expression: `*` any run, `?` one character. */
function segmentRegExp(glob: string): RegExp {
  const body = [...glob]
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.|+()[\]{}/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 's');
}

/** True when IAM lets the pattern reach the concrete ARN: every segment matched on its own. */
function iamReaches(pattern: string, concrete: string): boolean {
  if (pattern === '*') return true;
  const p = IAM_ARN.exec(pattern);
  const c = IAM_ARN.exec(concrete);
  if (!p || !c) return false;
  return p.slice(1).every((segment, k) => segmentRegExp(segment).test(c[k + 1] ?? ''));
}

/** What a wildcard may stand for: never a colon in the first five segments, colons in the resource. */
const SEGMENT_FILLS = ['', 'x', 'eu-west-1', '999999999999', 'Q7'];
const RESOURCE_FILLS = ['', 'x', ':', 'x:999999999999:table/zz', '/other/'];

/** Concrete ARNs the requested pattern stands for in IAM: its wildcards filled in several ways. */
function instances(resource: string): string[] {
  const m = IAM_ARN.exec(resource);
  if (!m) return [];
  return Array.from({ length: 10 }, (_, round) => {
    const segments = m.slice(1).map((segment, k) => {
      const fills = k === 4 ? RESOURCE_FILLS : SEGMENT_FILLS;
      let n = 0;
      return [...segment]
        .map((ch) => {
          if (ch !== '*' && ch !== '?') return ch;
          const fill = fills[(round + n++) % fills.length] ?? '';
          return ch === '*' ? fill : (fill[0] ?? 'q');
        })
        .join('');
    });
    return `arn:${segments.join(':')}`;
  });
}

/** The oracle: every ARN IAM would let the granted resource reach is one a rule resource reaches. */
function expectWithinRulePerSegment(ruleResources: readonly string[], resource: string): void {
  if (resource === '*') {
    expect(ruleResources).toContain('*');
    return;
  }
  expect(resource).toMatch(IAM_ARN);
  // No rule of the test config holds a policy variable, so none may be granted.
  expect(resource).not.toContain('${');
  for (const concrete of instances(resource)) {
    expect(ruleResources.some((allowed) => iamReaches(allowed, concrete))).toBe(true);
  }
}

/** Per target: an action its rule allows and, per ARN segment, values inside that rule. */
const SEGMENT_SCENARIOS = [
  {
    target: arn.role('app-reader'),
    action: 'dynamodb:GetItem',
    segments: [
      ['aws'],
      ['dynamodb'],
      ['eu-west-1', '*', 'eu-*', ''],
      [ACCOUNT],
      ['table/app-orders', 'table/app-*'],
    ],
  },
  {
    target: arn.role('app-reader'),
    action: 's3:GetObject',
    segments: [['aws'], ['s3'], [''], [''], ['app-data', 'app-data/*', 'app-data/a:b']],
  },
  {
    target: arn.role('ops-tools'),
    action: 'logs:GetLogEvents',
    segments: [
      ['aws'],
      ['logs'],
      ['eu-west-1', '*'],
      [ACCOUNT],
      ['log-group:/app/web', 'log-group:*', 'log-group:/a:*'],
    ],
  },
  {
    target: arn.user('svc-reader'),
    action: 's3:GetObject',
    segments: [['aws'], ['s3'], [''], [''], ['any/x', '*', 'b:c']],
  },
];

/** Segment values that hold colons, wildcards, other accounts and services, or a policy variable. */
const HOSTILE_SEGMENTS = [
  '*',
  '?',
  '',
  'aws',
  's3',
  'dynamodb',
  'eu-west-1:999999999999:x',
  '*:*',
  `999999999999:x:${ACCOUNT}`,
  `*:${ACCOUNT}`,
  '999999999999',
  `x:${ACCOUNT}:table/app-*`,
  `eu-west-1:${ACCOUNT}:log-group`,
  'app-data/${aws:username}',
  'a:b:c',
];

/** A resource built segment by segment: mostly what the rule allows, each segment sometimes hostile. */
const segmentRequestArb = fc.constantFrom(...SEGMENT_SCENARIOS).chain((scenario) =>
  fc.record({
    target: fc.constant(scenario.target),
    action: fc.constant(scenario.action),
    resource: fc
      .tuple(
        ...scenario.segments.map((good) =>
          fc.oneof(
            { weight: 5, arbitrary: fc.constantFrom(...good) },
            { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
          ),
        ),
      )
      .map((segments) => `arn:${segments.join(':')}`),
  }),
);

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
            expectWithinRulePerSegment(rule.resources, resource);
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

  it('accepts a resource only when IAM, segment by segment, reads it as within the rule', () => {
    // Prepare
    const outcomes = { accepted: 0, refused: 0 };
    // Act
    fc.assert(
      fc.property(segmentRequestArb, ({ target, action, resource }) => {
        const body = {
          target,
          permissions: [{ actions: [action], resources: [resource] }],
          reason: 'property run',
        };
        let valid: ReturnType<typeof validateRequest>;
        try {
          valid = validateRequest(body, ALICE, config);
        } catch (error) {
          // Assess (refusal): the resource is named, whatever the reason.
          expect(error instanceof InvalidRequestError || error instanceof NotEligibleError).toBe(true);
          expect((error as InvalidRequestError).details?.map((d) => d.field)).toEqual([
            'permissions[0].resources[0]',
          ]);
          outcomes.refused++;
          return;
        }
        // Assess (acceptance): the independent per-segment oracle agrees.
        outcomes.accepted++;
        expectWithinRulePerSegment(valid.rule.resources, resource);
      }),
      { numRuns: 500 },
    );
    // Assess (not vacuous): both branches ran.
    expect(outcomes.accepted).toBeGreaterThan(50);
    expect(outcomes.refused).toBeGreaterThan(50);
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
