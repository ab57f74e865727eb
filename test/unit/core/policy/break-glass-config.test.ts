import { describe, expect, it } from 'vitest';
import { type BrokerError, ConfigError, InvalidRequestError, NotEligibleError } from '#core/errors.ts';
import { type PolicyConfigInput, parsePolicyConfig } from '#core/policy/config.ts';
import { validateRequest } from '#core/policy/validate.ts';
import { ACCOUNT, ALICE, arn, testConfigInput, validBody } from '../../../support/fakes.ts';

/** A named on-call engineer, the one requester of the break-glass rule. */
const OLGA = arn.assumed('Oncall', 'olga');

/** The break-glass rule: named requesters, auto, one hour at most, no extension. */
const BREAK_GLASS_RULE = {
  id: 'prod-break-glass',
  requesters: [OLGA, arn.user('oncall-bot')],
  targets: [arn.role('prod-admin')],
  actions: ['ec2:RebootInstances', 'ec2:DescribeInstances'],
  resources: [`arn:aws:ec2:*:${ACCOUNT}:instance/*`],
  maxDurationSeconds: 3600,
  approval: 'auto' as const,
  extension: { maxExtensions: 0 },
  breakGlass: true,
};

/** The test config plus the break-glass rule (patched) and the reviewers section. */
function bgInput(
  rule: Record<string, unknown> = {},
  overrides: Partial<PolicyConfigInput> = {},
): PolicyConfigInput {
  return testConfigInput({
    rules: [
      ...testConfigInput().rules,
      { ...BREAK_GLASS_RULE, ...rule } as PolicyConfigInput['rules'][number],
    ],
    breakGlass: { reviewers: [arn.assumed('Reviewer', '*')] },
    ...overrides,
  });
}

/** Where the break-glass rule sits in {@link bgInput}'s rules. */
const AT = `rules[${testConfigInput().rules.length}]`;

/** Parses and returns the ConfigError; fails the test when the config is accepted. */
function configError(input: unknown): ConfigError {
  try {
    parsePolicyConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const fields = (error: BrokerError) => error.details?.map((d) => d.field);

/** A break-glass body for the prod-admin target. */
function bgBody(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'policy',
    target: arn.role('prod-admin'),
    permissions: [
      { actions: ['ec2:RebootInstances'], resources: [`arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/i-0abc`] },
    ],
    durationSeconds: 1800,
    reason: 'web fleet wedged, reboot the stuck instances',
    incident: 'INC-7',
    reasonCode: 'outage',
    ...overrides,
  };
}

/** Runs validateRequest and returns what it threw; fails the test when it accepts. */
function refusal(body: unknown, caller: string): BrokerError {
  try {
    const accepted = validateRequest(body, caller, parsePolicyConfig(bgInput()));
    throw new Error(`expected a refusal, got rule ${accepted.rule.id}`);
  } catch (error) {
    if (error instanceof InvalidRequestError || error instanceof NotEligibleError) return error;
    throw error;
  }
}

describe('parsePolicyConfig: break-glass rules', () => {
  it('accepts a break-glass rule with named requesters, auto, at most an hour and no extension', () => {
    // Prepare
    const input = bgInput();
    // Act
    const config = parsePolicyConfig(input);
    // Assess
    const rule = config.rules.find((r) => r.id === 'prod-break-glass');
    expect(rule?.breakGlass).toBe(true);
    expect(rule?.extension.maxExtensions).toBe(0);
    expect(config.breakGlass).toEqual({
      reviewers: [arn.assumed('Reviewer', '*')],
      reviewOverdueHours: 24,
      reasonCodes: ['outage', 'security-incident', 'data-loss', 'other'],
    });
  });

  it('leaves ordinary rules not break-glass by default', () => {
    // Act
    const config = parsePolicyConfig(bgInput());
    // Assess
    expect(config.rules.filter((r) => r.breakGlass).map((r) => r.id)).toEqual(['prod-break-glass']);
  });

  it.each([
    ['a wildcard session name', arn.assumed('Developer', '*')],
    ['a partial wildcard name', arn.assumed('Oncall', 'ol*')],
    ['a single-character wildcard', arn.assumed('Oncall', 'olg?')],
    ['a user wildcard', arn.user('oncall-*')],
  ])('refuses a requester with %s in the name part', (_what, requester) => {
    // Prepare
    const input = bgInput({ requesters: [OLGA, requester] });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual([`${AT}.requesters[1]`]);
    expect(error.message).toContain('no wildcard in the name part');
  });

  it('accepts a wildcard in the account or role part when the session is named', () => {
    // Prepare
    const input = bgInput({ requesters: ['arn:aws:sts::*:assumed-role/Oncall/olga'] });
    // Act
    const config = parsePolicyConfig(input);
    // Assess
    expect(config.rules.at(-1)?.requesters).toEqual(['arn:aws:sts::*:assumed-role/Oncall/olga']);
  });

  it('refuses a break-glass rule longer than an hour', () => {
    // Prepare
    const input = bgInput({ maxDurationSeconds: 3601 });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual([`${AT}.maxDurationSeconds`]);
    expect(error.message).toContain('at most 3600 seconds');
  });

  it('refuses a break-glass rule with an approval step', () => {
    // Prepare
    const input = bgInput({ approval: { approvers: [arn.assumed('Approver', '*')] } });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual([`${AT}.approval`]);
  });

  it.each([
    ['an explicit count', { maxExtensions: 1 }],
    ['the default count', {}],
  ])('refuses a break-glass rule that may be extended (%s)', (_what, extension) => {
    // Prepare
    const input = bgInput({ extension });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual([`${AT}.extension.maxExtensions`]);
  });

  it('refuses a break-glass rule without the top-level breakGlass section', () => {
    // Prepare
    const input = bgInput({}, { breakGlass: undefined });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['breakGlass']);
    expect(error.message).toContain('rule prod-break-glass is break-glass');
  });

  it('names every fault of one break-glass rule at once', () => {
    // Prepare
    const input = bgInput(
      {
        requesters: [arn.assumed('Oncall', '*')],
        maxDurationSeconds: 7200,
        approval: { approvers: [arn.assumed('Approver', '*')] },
        extension: { maxExtensions: 2 },
      },
      { breakGlass: undefined },
    );
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual([
      `${AT}.requesters[0]`,
      `${AT}.maxDurationSeconds`,
      `${AT}.approval`,
      `${AT}.extension.maxExtensions`,
      'breakGlass',
    ]);
  });

  it('does not require the breakGlass section when no rule is break-glass', () => {
    // Prepare
    const input = testConfigInput();
    // Act
    const config = parsePolicyConfig(input);
    // Assess
    expect(config.breakGlass).toBeUndefined();
  });

  it.each([
    ['a bare star', '*'],
    ['a Slack id', 'slack:U0RITA'],
    ['a role ARN with no account', 'arn:aws:iam:::role/Reviewer'],
    ['free text', 'rita'],
  ])('refuses a break-glass reviewer pattern that is %s', (_what, pattern) => {
    // Prepare
    const input = bgInput({}, { breakGlass: { reviewers: [arn.assumed('Reviewer', '*'), pattern] } });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['breakGlass.reviewers[1]']);
  });

  it('refuses an empty reviewers list', () => {
    // Prepare
    const input = bgInput({}, { breakGlass: { reviewers: [] } });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['breakGlass.reviewers']);
  });

  it.each([
    ['a bare star', '*'],
    ['a Slack id', 'slack:U0ERIN'],
    ['free text', 'erin'],
  ])('refuses an auditor pattern that is %s', (_what, pattern) => {
    // Prepare
    const input = bgInput(
      {},
      { audit: { auditors: [arn.assumed('Auditor', '*'), pattern], deliveryDelaySeconds: 900 } },
    );
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['audit.auditors[1]']);
  });

  it('refuses a break-glass reason code that is not lower-case words joined by "-"', () => {
    // Prepare
    const input = bgInput(
      {},
      { breakGlass: { reviewers: [arn.assumed('Reviewer', '*')], reasonCodes: ['outage', 'Data Loss'] } },
    );
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['breakGlass.reasonCodes[1]']);
  });

  it('accepts auditors, reviewers, reason codes and an overdue delay it can read', () => {
    // Prepare
    const input = bgInput(
      {},
      {
        audit: { auditors: [arn.assumed('Auditor', '*'), arn.user('erin')], deliveryDelaySeconds: 600 },
        breakGlass: {
          reviewers: [arn.assumed('Reviewer', '*'), arn.user('rita')],
          reviewOverdueHours: 48,
          reasonCodes: ['outage', 'customer-impact'],
        },
      },
    );
    // Act
    const config = parsePolicyConfig(input);
    // Assess
    expect(config.audit.auditors).toEqual([arn.assumed('Auditor', '*'), arn.user('erin')]);
    expect(config.breakGlass?.reviewOverdueHours).toBe(48);
    expect(config.breakGlass?.reasonCodes).toEqual(['outage', 'customer-impact']);
  });
});

describe('validateRequest: break-glass', () => {
  it('accepts a break-glass request under the break-glass rule, with its incident and reason code', () => {
    // Act
    const valid = validateRequest(bgBody(), OLGA, parsePolicyConfig(bgInput()));
    // Assess
    expect(valid.rule.id).toBe('prod-break-glass');
    expect(valid.breakGlass).toEqual({ incident: 'INC-7', reasonCode: 'outage' });
  });

  it('leaves breakGlass out of an ordinary request', () => {
    // Act
    const valid = validateRequest(validBody(), ALICE, parsePolicyConfig(bgInput()));
    // Assess
    expect(valid.rule.id).toBe('app-read');
    expect(valid).not.toHaveProperty('breakGlass');
  });

  it('refuses an incident on a target only an ordinary rule covers (400 incident)', () => {
    // Prepare
    const body = validBody({ incident: 'INC-7', reasonCode: 'outage' });
    // Act
    const error = refusal(body, ALICE);
    // Assess
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(fields(error)).toEqual(['incident']);
    expect(error.message).toContain('no break-glass rule');
  });

  it('refuses a request without an incident on a target only a break-glass rule covers (400 incident)', () => {
    // Prepare
    const body = bgBody({ incident: undefined, reasonCode: undefined });
    // Act
    const error = refusal(body, OLGA);
    // Assess
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(fields(error)).toEqual(['incident']);
    expect(error.message).toContain('only a break-glass rule covers this target');
  });

  it('refuses a reason code without an incident (400 reasonCode)', () => {
    // Prepare
    const body = validBody({ reasonCode: 'outage' });
    // Act
    const error = refusal(body, ALICE);
    // Assess
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(fields(error)).toEqual(['reasonCode']);
  });

  it.each([
    ['an unknown reason code', 'because'],
    ['a code of another list', 'work-not-finished'],
  ])('refuses %s on a break-glass request (400 reasonCode)', (_what, reasonCode) => {
    // Prepare
    const body = bgBody({ reasonCode });
    // Act
    const error = refusal(body, OLGA);
    // Assess
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(fields(error)).toEqual(['reasonCode']);
    expect(error.message).toContain('outage, security-incident, data-loss, other');
  });

  it('refuses a break-glass request with no reason code (400 reasonCode)', () => {
    // Prepare
    const body = bgBody({ reasonCode: undefined });
    // Act
    const error = refusal(body, OLGA);
    // Assess
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(fields(error)).toEqual(['reasonCode']);
  });

  it('refuses an incident reference that is not one (400 incident)', () => {
    // Prepare
    const body = bgBody({ incident: 'INC 7; drop table' });
    // Act
    const error = refusal(body, OLGA);
    // Assess
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(fields(error)).toEqual(['incident']);
  });

  it('refuses a break-glass request from someone no rule names (403 target)', () => {
    // Prepare
    const body = bgBody();
    // Act
    const error = refusal(body, arn.assumed('Oncall', 'mallory'));
    // Assess
    expect(error).toBeInstanceOf(NotEligibleError);
    expect(fields(error)).toEqual(['target']);
  });

  it('refuses a break-glass request longer than the rule allows', () => {
    // Prepare
    const body = bgBody({ durationSeconds: 3601 });
    // Act
    const error = refusal(body, OLGA);
    // Assess
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(fields(error)).toEqual(['durationSeconds']);
  });
});
