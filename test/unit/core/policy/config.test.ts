import { describe, expect, it } from 'vitest';
import { ConfigError } from '#core/errors.ts';
import {
  DEFAULT_DENIED_ACTIONS,
  deniedBy,
  type PolicyConfigInput,
  parsePolicyConfig,
} from '#core/policy/config.ts';
import { arn, testConfigInput } from '../../../support/fakes.ts';
import { B, C, HUB, multiAccountInput } from '../../../support/multi-account.ts';

/** The first rule of the test config with some fields replaced. */
function withRule(patch: Record<string, unknown>, overrides: Partial<PolicyConfigInput> = {}): unknown {
  const input = testConfigInput(overrides);
  const [first, ...rest] = input.rules;
  return { ...input, rules: [{ ...first, ...patch }, ...rest] };
}

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

const fields = (error: ConfigError) => error.details?.map((d) => d.field);

describe('parsePolicyConfig', () => {
  it('applies defaults and merges the deny list', () => {
    // Prepare
    const input = testConfigInput({ globalDenyActions: ['kms:ScheduleKeyDeletion'] });
    // Act
    const config = parsePolicyConfig(input);
    // Assess
    expect(config.defaultDurationSeconds).toBe(900);
    expect(config.maxDurationSeconds).toBe(43_200);
    expect(config.rules[2]?.approval).toEqual({ approvers: [arn.assumed('Approver', '*')], minApprovals: 1 });
    expect(config.globalDenyActions).toEqual([...DEFAULT_DENIED_ACTIONS, 'kms:ScheduleKeyDeletion']);
  });

  it('keeps the built-in deny list when the config gives an empty one', () => {
    // Prepare
    const input = testConfigInput({ globalDenyActions: [] });
    // Act
    const config = parsePolicyConfig(input);
    // Assess
    expect(config.globalDenyActions).toEqual(expect.arrayContaining([...DEFAULT_DENIED_ACTIONS]));
  });

  it('refuses a rule with iam:PassRole even when the config names no deny list', () => {
    // Prepare
    const input = withRule({ actions: ['s3:GetObject', 'iam:PassRole'] }, { globalDenyActions: [] });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['rules[0].actions[1]']);
    expect(error.message).toContain('iam:*');
  });

  it('cannot take a built-in entry out with a negation', () => {
    // Prepare
    const input = testConfigInput({ globalDenyActions: ['!iam:*'] });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['globalDenyActions[0]']);
  });

  it.each([
    ['*', 'the bare star'],
    ['iam:Pass*', 'a prefix inside iam:*'],
    ['sts:AssumeRole', 'an action under sts:*'],
    ['organizations:List*', 'an action under organizations:*'],
    ['account:*', 'a denied service'],
  ])('refuses the rule action %s (%s)', (action) => {
    // Prepare
    const input = withRule({ actions: [action] });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['rules[0].actions[0]']);
  });

  it('refuses a rule action overlapping an entry the config adds', () => {
    // Prepare: s3:* overlaps s3:DeleteBucket.
    const input = withRule({ actions: ['s3:*'] }, { globalDenyActions: ['s3:DeleteBucket'] });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['rules[0].actions[0]']);
    expect(error.message).toContain('s3:DeleteBucket');
  });

  it('refuses an unknown top-level key', () => {
    // Prepare
    const input = { ...testConfigInput(), denyList: ['iam:*'] };
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['denyList']);
  });

  it('refuses an unknown rule key such as notActions', () => {
    // Prepare
    const input = withRule({ notActions: ['iam:*'] });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['rules[0].notActions']);
  });

  it.each([
    ['arn:aws:s3:::bucket', 'an S3 ARN'],
    ['app-*', 'a bare name'],
    ['arn:aws:iam::12345:role/app-*', 'a short account id'],
    ['arn:aws:iam::111122223333:group/app', 'a group'],
  ])('refuses the target pattern %s (%s)', (target) => {
    // Prepare
    const input = withRule({ targets: [arn.role('ok-*'), target] });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['rules[0].targets[1]']);
  });

  it('refuses a duplicate rule id naming the second one', () => {
    // Prepare
    const input = testConfigInput();
    const [first, second, third] = input.rules;
    const duplicated = { ...input, rules: [first, { ...second, id: first?.id }, third] };
    // Act
    const error = configError(duplicated);
    // Assess
    expect(fields(error)).toEqual(['rules[1].id']);
  });

  it.each([30, 50_000])('refuses a default duration of %i outside the global bounds', (seconds) => {
    // Prepare
    const input = testConfigInput({ defaultDurationSeconds: seconds });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['defaultDurationSeconds']);
  });

  it('refuses a rule maximum beyond the global maximum', () => {
    // Prepare
    const input = withRule({ maxDurationSeconds: 50_000 });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['rules[0].maxDurationSeconds']);
  });

  it('refuses a global minimum above the global maximum', () => {
    // Prepare
    const input = testConfigInput({
      minDurationSeconds: 600,
      maxDurationSeconds: 300,
      defaultDurationSeconds: 400,
    });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toContain('minDurationSeconds');
  });

  it('refuses a quorum of zero', () => {
    // Prepare
    const input = withRule({ approval: { approvers: [arn.assumed('Approver', '*')], minApprovals: 0 } });
    // Act
    const error = configError(input);
    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(fields(error)?.[0]).toMatch(/^rules\[0\]\.approval/);
  });

  it('refuses a resource that is neither an ARN nor a star', () => {
    // Prepare
    const input = withRule({ resources: ['app-data/*'] });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['rules[0].resources[0]']);
  });

  it('refuses a resource pattern with fewer than six ARN segments', () => {
    // Prepare: IAM would read "arn:aws:s3:*" as no ARN at all, not as "all of S3".
    const input = withRule({ resources: ['arn:aws:s3:::app-data/*', 'arn:aws:s3:*'] });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['rules[0].resources[1]']);
    expect(error.details?.[0]?.message).toMatch(/arn:partition:service:region:account:resource/);
  });

  it('refuses a Slack requester pattern that is no IAM/STS principal ARN pattern', () => {
    // Prepare: a pattern that matches no principal would let that person decide on their own requests.
    const input = testConfigInput({
      slack: { users: { U0ALICE: { requester: ['arn:aws:sts::*', arn.assumed('Developer', 'alice')] } } },
    });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['slack.users.U0ALICE.requester[0]']);
  });

  it('refuses a config without rules', () => {
    // Prepare
    const input = { ...testConfigInput(), rules: [] };
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['rules']);
  });

  it('names every field at fault at once', () => {
    // Prepare
    const input = withRule({ actions: ['iam:PassRole'], targets: ['nope'] }, { defaultDurationSeconds: 10 });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['defaultDurationSeconds', 'rules[0].targets[0]', 'rules[0].actions[0]']);
  });
});

describe('targets live in the broker account', () => {
  it('refuses target patterns with an account wildcard', () => {
    // Prepare
    const input = testConfigInput();
    const [first, ...rest] = input.rules;
    const wild = { ...(first as NonNullable<typeof first>), targets: ['arn:aws:iam::*:role/app-*'] };
    // Act
    const act = () => parsePolicyConfig({ ...input, rules: [wild, ...rest] });
    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/rules\[0\]\.targets\[0\]: must name the broker's account/);
  });

  it('refuses targets spread over several accounts', () => {
    // Prepare
    const input = testConfigInput();
    const [first, ...rest] = input.rules;
    const other = {
      ...(first as NonNullable<typeof first>),
      targets: ['arn:aws:iam::999999999999:role/app-*'],
    };
    // Act
    const act = () => parsePolicyConfig({ ...input, rules: [other, ...rest] });
    // Assess
    expect(act).toThrow(/targets span several accounts \(999999999999, 111122223333\)/);
  });
});

describe('accounts', () => {
  /** The input with the rule `id` given other targets. */
  const withTargets = (input: PolicyConfigInput, id: string, targets: string[]): PolicyConfigInput => ({
    ...input,
    rules: input.rules.map((r) => (r.id === id ? { ...r, targets } : r)),
  });

  it('accepts targets in listed accounts and "*" for any listed account', () => {
    // Prepare
    const input = multiAccountInput();
    // Act
    const config = parsePolicyConfig(input);
    // Assess
    expect(config.accounts?.map((a) => a.id)).toEqual([HUB, B, C]);
    expect(config.rules[0]?.targets).toEqual(['arn:aws:iam::*:role/app-*']);
  });

  it('refuses a target in an unlisted account, naming the target', () => {
    // Prepare
    const input = withTargets(multiAccountInput(), 'ops-b', [
      `arn:aws:iam::${B}:role/ops-*`,
      'arn:aws:iam::999988887777:role/ops-*',
    ]);
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['rules[1].targets[1]']);
    expect(error.message).toMatch(/is in account 999988887777, which "accounts" does not list/);
  });

  it('refuses "*" in a target\'s account without an accounts list', () => {
    // Prepare
    const input = withTargets(testConfigInput(), 'logs-auto', ['arn:aws:iam::*:role/ops-*']);
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['rules[1].targets[0]']);
    expect(error.message).toMatch(/must name the broker's account .*list them in "accounts"/);
  });

  it.each([
    ['12345', 'too short'],
    ['1111222233334', 'too long'],
    ['11112222333a', 'a letter'],
    [' 111122223333', 'a space'],
  ])('refuses the malformed account id "%s" (%s)', (id) => {
    // Prepare
    const input = multiAccountInput({ accounts: [{ id: HUB }, { id }] });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toContain('accounts[1].id');
    expect(error.message).toContain('accounts[1].id: must be a 12-digit AWS account id');
  });

  it('refuses an account listed twice, naming the duplicate', () => {
    // Prepare
    const input = multiAccountInput({
      accounts: [{ id: HUB }, { id: B }, { id: C }, { id: B, name: 'again' }],
    });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['accounts[3].id']);
    expect(error.message).toContain(`duplicates account ${B}`);
  });

  it('requires an externalId with an accounts list', () => {
    // Prepare
    const { externalId: _, ...input } = multiAccountInput();
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['externalId']);
    expect(error.message).toMatch(/externalId: is required with "accounts"/);
  });

  it.each([
    ['externalId', 'x'],
    ['externalId', 'has spaces in it'],
    ['organizationId', 'o-short'],
    ['organizationId', 'O-ABCDEFGHIJ'],
    ['grantorRoleName', 'has/slash'],
    ['grantorRoleName', 'x'.repeat(65)],
  ])('refuses a malformed %s ("%s")', (field, value) => {
    // Prepare
    const input = multiAccountInput({ [field]: value });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual([field]);
  });

  it('refuses a malformed per-account grantor role name', () => {
    // Prepare
    const input = multiAccountInput({
      accounts: [{ id: HUB }, { id: B, grantorRoleName: 'no spaces' }, { id: C }],
    });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['accounts[1].grantorRoleName']);
  });

  it('refuses multi-account settings without an accounts list, naming each', () => {
    // Prepare
    const input = testConfigInput({
      externalId: 'jit-4f9c2a7e1b3d5a6c',
      grantorStackSet: { organizationalUnitIds: ['ou-ab12-cdefgh34'], regions: ['eu-west-1'] },
    });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual(['externalId', 'grantorStackSet']);
  });

  it('refuses a StackSet with malformed OUs, several regions or a per-account role name', () => {
    // Prepare
    const input = multiAccountInput({
      accounts: [{ id: HUB }, { id: B, grantorRoleName: 'OtherGrantor' }, { id: C }],
      grantorStackSet: {
        organizationalUnitIds: ['r-abcd', 'ou-ab12-cdefgh34'],
        regions: ['eu-west-1', 'us-east-1'],
      },
    });
    // Act
    const error = configError(input);
    // Assess
    expect(fields(error)).toEqual([
      'accounts[1].grantorRoleName',
      'grantorStackSet.organizationalUnitIds[0]',
      'grantorStackSet.regions',
    ]);
  });

  it('accepts a StackSet with one region and OU ids', () => {
    // Prepare
    const input = multiAccountInput({
      grantorStackSet: { organizationalUnitIds: ['ou-ab12-cdefgh34'], regions: ['eu-west-1'] },
    });
    // Act
    const config = parsePolicyConfig(input);
    // Assess
    expect(config.grantorStackSet?.regions).toEqual(['eu-west-1']);
  });
});

describe('deniedBy', () => {
  it.each([
    ['*', '*'],
    ['iam:PassRole', 'iam:*'],
    ['IAM:passrole', 'iam:*'],
    ['sts:Assume*', 'sts:*'],
    ['s3:GetObject', undefined],
    ['s3:*', undefined],
  ])('reports %s as denied by %s', (action, expected) => {
    // Act
    const hit = deniedBy(action, DEFAULT_DENIED_ACTIONS);
    // Assess
    expect(hit).toBe(expected);
  });
});

describe('parsePolicyConfig: extension settings', () => {
  it('gives every rule the default extension settings and the default reason codes', () => {
    // Act
    const config = parsePolicyConfig(testConfigInput());
    // Assess
    expect(config.rules[0]?.extension).toEqual({ maxExtensions: 2, openAt: 0.75, approval: 'rule' });
    expect(config.extensionReasonCodes).toEqual([
      'work-not-finished',
      'incident-ongoing',
      'waiting-on-dependency',
      'other',
    ]);
  });

  it('refuses an openAt outside [0, 1), a negative maxExtensions, an unknown approval and a bad reason code', () => {
    // Act
    const openAt = configError(withRule({ extension: { openAt: 1 } }));
    const max = configError(withRule({ extension: { maxExtensions: -1 } }));
    const approval = configError(withRule({ extension: { approval: 'sometimes' } }));
    const code = configError(withRule({ extension: { reasonCodes: ['Work Not Finished'] } }));
    const topCode = configError({ ...testConfigInput(), extensionReasonCodes: ['oops!'] });
    // Assess
    expect(fields(openAt)).toEqual(['rules[0].extension.openAt']);
    expect(fields(max)).toEqual(['rules[0].extension.maxExtensions']);
    expect(fields(approval)).toEqual(['rules[0].extension.approval']);
    expect(fields(code)).toEqual(['rules[0].extension.reasonCodes[0]']);
    expect(fields(topCode)).toEqual(['extensionReasonCodes[0]']);
  });
});
