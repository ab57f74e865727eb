import { describe, expect, it } from 'vitest';
import { ConfigError } from '#core/errors.ts';
import { parsePolicyConfig } from '#core/policy/config.ts';
import { compensateGrant } from '#core/workflow/steps.ts';
import { arn, fakeDeps, grantedRequest, testConfigInput, validBody } from '../../../support/fakes.ts';

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

describe('compensation after a recorded grant', () => {
  it('revokes a grant whose step failed after recording GRANTED, instead of failing', async () => {
    // Prepare
    const { deps, store, iam } = fakeDeps();
    const id = await grantedRequest(deps, validBody());
    // Act
    const result = await compensateGrant(deps, id, {
      Error: 'States.Timeout',
      Cause: 'grant step timed out',
    });
    // Assess
    expect(result).toEqual({ status: 'REVOKED' });
    expect(iam.policiesOf(arn.role('app-reader'))).toEqual({});
    expect((await store.events(id)).at(-1)).toMatchObject({
      from: 'GRANTED',
      to: 'REVOKED',
      actor: 'system:compensation',
    });
  });
});
