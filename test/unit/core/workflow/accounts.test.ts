import { describe, expect, it } from 'vitest';
import { GrantorUnavailableError, NotEligibleError } from '#core/errors.ts';
import { validateRequest } from '#core/policy/validate.ts';
import type { IamGrants, PrincipalRef } from '#core/ports.ts';
import { compensateGrant, grantStep, NOTHING_ATTACHED } from '#core/workflow/steps.ts';
import { runSweep, SWEEP_ACCOUNT_CONCURRENCY } from '#core/workflow/sweeper.ts';
import {
  ALICE,
  approvedRequest,
  fakeDeps,
  testConfig,
  testConfigInput,
  validBody,
} from '../../../support/fakes.ts';

const ACCOUNTS = [
  '222233334444',
  '333344445555',
  '444455556666',
  '555566667777',
  '666677778888',
  '777788889999',
];
const UNREACHABLE = '444455556666';
const ALLOW = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
});

/** A config whose `app-*` targets may be in any of six listed accounts. */
function accountsConfig() {
  const base = testConfigInput();
  return testConfig({
    accounts: ACCOUNTS.map((id) => ({ id })),
    externalId: 'ext-1',
    rules: base.rules.map((r) => ({ ...r, targets: r.targets.map((t) => t.replace('111122223333', '*')) })),
  });
}

/** The simulated IAM as a grantor-routing port would be: one account unreachable, concurrency recorded. */
function throughGrantors(iam: IamGrants, seen: { running: number; peak: number }): IamGrants {
  const reach = (account: string) => {
    if (account === UNREACHABLE) {
      throw new GrantorUnavailableError(`cannot assume the grantor role in account ${account}`);
    }
  };
  return {
    putPolicy: async (p, n, d) => {
      reach(p.account);
      return iam.putPolicy(p, n, d);
    },
    getPolicy: async (p, n) => {
      reach(p.account);
      return iam.getPolicy(p, n);
    },
    deletePolicy: async (p, n) => {
      reach(p.account);
      return iam.deletePolicy(p, n);
    },
    listPolicies: async (p) => {
      reach(p.account);
      return iam.listPolicies(p);
    },
    getRoleId: async (p) => {
      reach(p.account);
      return iam.getRoleId(p);
    },
    listPrincipals: async (patterns, account) => {
      seen.running += 1;
      seen.peak = Math.max(seen.peak, seen.running);
      try {
        await new Promise((r) => setTimeout(r, 5));
        reach(account);
        return await iam.listPrincipals(patterns, account);
      } finally {
        seen.running -= 1;
      }
    },
  };
}

describe('sweeper across accounts', () => {
  it('walks every listed account a bounded number at a time; an unreachable one is reported, the others swept', async () => {
    // Prepare
    const env = fakeDeps(accountsConfig());
    const seen = { running: 0, peak: 0 };
    const deps = { ...env.deps, iam: throughGrantors(env.iam, seen) };
    const orphan = (account: string): PrincipalRef => ({ account, type: 'role', name: 'app-orphan' });
    for (const account of ACCOUNTS.filter((a) => a !== UNREACHABLE)) {
      await env.iam.putPolicy(orphan(account), 'jit-orphan', ALLOW);
    }
    // Act
    const report = await runSweep(deps);
    // Assess
    expect(report.accountsFailed).toEqual([
      { account: UNREACHABLE, error: expect.stringMatching(/^GrantorUnavailableError: .*444455556666/) },
    ]);
    expect(
      report.strays
        .filter((s) => s.action === 'removed')
        .map((s) => s.principal)
        .sort(),
    ).toEqual(ACCOUNTS.filter((a) => a !== UNREACHABLE).map((a) => `arn:aws:iam::${a}:role/app-orphan`));
    expect(seen.peak).toBe(SWEEP_ACCOUNT_CONCURRENCY);
  });
});

describe('a grant in an account whose grantor cannot be assumed', () => {
  it('records GRANT_FAILED with nothing attached instead of failing the compensation too', async () => {
    // Prepare
    const env = fakeDeps(accountsConfig());
    const deps = { ...env.deps, iam: throughGrantors(env.iam, { running: 0, peak: 0 }) };
    const id = await approvedRequest(
      deps,
      validBody({ target: `arn:aws:iam::${UNREACHABLE}:role/app-reader` }),
    );
    const failure = await grantStep(deps, id).catch((e: Error) => e);
    // Act
    const result = await compensateGrant(deps, id, failure);
    // Assess
    expect(failure).toBeInstanceOf(GrantorUnavailableError);
    expect(result.status).toBe('GRANT_FAILED');
    expect((await env.store.events(id)).at(-1)?.details).toMatchObject({
      error: { error: 'GrantorUnavailableError', cause: expect.stringContaining(UNREACHABLE) },
      compensation: NOTHING_ATTACHED,
    });
  });

  it('still fails the compensation when the grant failed for another reason', async () => {
    // Prepare
    const env = fakeDeps(accountsConfig());
    const deps = { ...env.deps, iam: throughGrantors(env.iam, { running: 0, peak: 0 }) };
    const id = await approvedRequest(
      deps,
      validBody({ target: `arn:aws:iam::${UNREACHABLE}:role/app-reader` }),
    );
    // Act
    const act = compensateGrant(deps, id, { Error: 'VerificationError', Cause: 'read-back differs' });
    // Assess
    await expect(act).rejects.toBeInstanceOf(GrantorUnavailableError);
  });
});

describe('requests across accounts', () => {
  it('refuses a target in an account the config does not list, even under a `*` account pattern', () => {
    // Prepare
    const config = accountsConfig();
    // Act
    const act = () =>
      validateRequest(validBody({ target: 'arn:aws:iam::999988887777:role/app-reader' }), ALICE, config);
    const listed = validateRequest(
      validBody({ target: `arn:aws:iam::${ACCOUNTS[0]}:role/app-reader` }),
      ALICE,
      config,
    );
    // Assess
    expect(act).toThrow(NotEligibleError);
    expect(act).toThrow(/account the broker does not grant in/);
    expect(listed.rule.id).toBe('app-read');
  });
});
