import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GRANTOR_ROLE_NAME,
  grantorRoleArn,
  listedAccounts,
  patternsInAccount,
  targetAccounts,
} from '#core/policy/accounts.ts';
import { targetAccount } from '#core/policy/config.ts';
import { testConfig } from '../../../support/fakes.ts';
import { B, C, HUB, multiAccountConfig } from '../../../support/multi-account.ts';

describe('listedAccounts', () => {
  it('resolves each grantor role name: per account, else the config-wide one, else the default', () => {
    // Prepare
    const config = multiAccountConfig({
      accounts: [{ id: HUB }, { id: B, grantorRoleName: 'SpecialGrantor' }, { id: C, name: 'c' }],
      grantorRoleName: 'OrgGrantor',
    });
    // Act
    const listed = listedAccounts(config);
    // Assess
    expect(listed).toEqual([
      { id: HUB, grantorRoleName: 'OrgGrantor' },
      { id: B, grantorRoleName: 'SpecialGrantor' },
      { id: C, name: 'c', grantorRoleName: 'OrgGrantor' },
    ]);
    expect(listedAccounts(multiAccountConfig())[0]?.grantorRoleName).toBe(DEFAULT_GRANTOR_ROLE_NAME);
  });

  it('is empty without an accounts list', () => {
    // Act
    const listed = listedAccounts(testConfig());
    // Assess
    expect(listed).toEqual([]);
  });
});

describe('grantorRoleArn', () => {
  it('builds the ARN of a listed account in the given partition', () => {
    // Prepare
    const config = multiAccountConfig({
      accounts: [{ id: HUB }, { id: B, grantorRoleName: 'G2' }, { id: C }],
    });
    // Act
    const arns = [grantorRoleArn(config, HUB), grantorRoleArn(config, B, 'aws-us-gov')];
    // Assess
    expect(arns).toEqual([`arn:aws:iam::${HUB}:role/JitGrantor`, `arn:aws-us-gov:iam::${B}:role/G2`]);
  });

  it('refuses an account the config does not list', () => {
    // Act
    const act = () => grantorRoleArn(multiAccountConfig(), '999988887777');
    // Assess
    expect(act).toThrow(/999988887777 is not listed/);
  });
});

describe('targetAccounts', () => {
  it('is the listed accounts with a list, and the one target account without', () => {
    // Act
    const listed = targetAccounts(multiAccountConfig());
    const single = targetAccounts(testConfig());
    // Assess
    expect(listed).toEqual([HUB, B, C]);
    expect(single).toEqual(['111122223333']);
  });

  it('leaves the cold-start account check nothing to compare with a list', () => {
    // Act
    const withList = targetAccount(multiAccountConfig());
    const without = targetAccount(testConfig());
    // Assess
    expect(withList).toBeUndefined();
    expect(without).toBe('111122223333');
  });
});

describe('patternsInAccount', () => {
  const patterns = [
    'arn:aws:iam::*:role/app-*',
    `arn:aws:iam::${B}:role/ops-*`,
    `arn:aws:iam::${C}:user/svc-*`,
  ];

  it('keeps that account\'s patterns and fills the account into the "*" ones', () => {
    // Act
    const inB = patternsInAccount(patterns, B);
    // Assess
    expect(inB).toEqual([`arn:aws:iam::${B}:role/app-*`, `arn:aws:iam::${B}:role/ops-*`]);
  });

  it("keeps other accounts' patterns when asked (a StackSet template)", () => {
    // Act
    const all = patternsInAccount(patterns, '<deploying-account>', { keepOtherAccounts: true });
    // Assess
    expect(all).toEqual([
      'arn:aws:iam::<deploying-account>:role/app-*',
      `arn:aws:iam::${B}:role/ops-*`,
      `arn:aws:iam::${C}:user/svc-*`,
    ]);
  });
});
