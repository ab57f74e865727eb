import { describe, expect, it } from 'vitest';
import { VerificationError } from '#core/errors.ts';
import { deleteVerified, putVerified } from '#core/grants/verified-iam.ts';
import type { PrincipalRef } from '#core/principals.ts';
import { arn, fakeDeps } from '../../../support/fakes.ts';

const ROLE: PrincipalRef = { account: '111122223333', type: 'role', name: 'app-reader' };
const DOC = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
});

describe('verified IAM writes', () => {
  it('puts a policy and accepts a read-back that IAM re-serialized', async () => {
    // Prepare
    const { iam } = fakeDeps();
    const getPolicy = iam.getPolicy.bind(iam);
    iam.getPolicy = async (p, n) => {
      const text = await getPolicy(p, n);
      return text === undefined ? undefined : JSON.stringify(JSON.parse(text), null, 2);
    };
    // Act
    await putVerified(iam, ROLE, 'jit-x', DOC, arn.role('app-reader'));
    // Assess
    expect(iam.policiesOf(arn.role('app-reader'))).toEqual({ 'jit-x': DOC });
  });

  it('throws VerificationError when the read-back differs from what was written', async () => {
    // Prepare
    const { iam } = fakeDeps();
    iam.getPolicy = async () => '{"Statement":[]}';
    // Act
    const put = putVerified(iam, ROLE, 'jit-x', DOC, arn.role('app-reader'));
    // Assess
    await expect(put).rejects.toBeInstanceOf(VerificationError);
  });

  it('deletes a policy, treats one already gone as deleted, and proves both by reading back', async () => {
    // Prepare
    const { iam } = fakeDeps();
    await iam.putPolicy(ROLE, 'jit-x', DOC);
    // Act
    await deleteVerified(iam, ROLE, 'jit-x', arn.role('app-reader'));
    await deleteVerified(iam, ROLE, 'jit-x', arn.role('app-reader'));
    // Assess
    expect(iam.policiesOf(arn.role('app-reader'))).toEqual({});
  });

  it('throws VerificationError when the policy is still there after the delete', async () => {
    // Prepare
    const { iam } = fakeDeps();
    await iam.putPolicy(ROLE, 'jit-x', DOC);
    iam.deletePolicy = async () => {};
    // Act
    const del = deleteVerified(iam, ROLE, 'jit-x', arn.role('app-reader'));
    // Assess
    await expect(del).rejects.toBeInstanceOf(VerificationError);
  });
});
