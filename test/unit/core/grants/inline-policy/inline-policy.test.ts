import { describe, expect, it } from 'vitest';
import { VerificationError } from '#core/errors.ts';
import { inlinePolicy } from '#core/grants/inline-policy/inline-policy.ts';
import { approvedRequest, arn, fakeDeps } from '../../../../support/fakes.ts';

const APP_READER = arn.role('app-reader');

describe('inline-policy kind', () => {
  it('writes jit-<id> with the expiry condition and returns what to record, recording nothing itself', async () => {
    // Prepare
    const { deps, store, iam } = fakeDeps();
    const id = await approvedRequest(deps);
    const request = await store.get(id);
    const eventsBefore = (await store.events(id)).length;
    // Act
    const granted = await inlinePolicy.grant(deps, request as NonNullable<typeof request>);
    // Assess
    const doc = JSON.parse(iam.policiesOf(APP_READER)[`jit-${id}`] ?? '{}');
    expect(doc.Statement[0].Condition).toEqual({ DateLessThan: { 'aws:CurrentTime': granted.expiresAt } });
    expect(granted.patch).toEqual({ expiresAt: granted.expiresAt });
    expect(granted.details).toMatchObject({ policyName: `jit-${id}`, statements: 1 });
    expect((await store.events(id)).length).toBe(eventsBefore);
  });

  it('revokes idempotently: a policy already gone counts as removed', async () => {
    // Prepare
    const { deps, store } = fakeDeps();
    const id = await approvedRequest(deps);
    const request = (await store.get(id)) as NonNullable<Awaited<ReturnType<typeof store.get>>>;
    // Act
    const done = await inlinePolicy.revoke(deps, request);
    // Assess
    expect(done.details).toEqual({ policyName: `jit-${id}`, verified: true });
  });

  it('fails the revoke with VerificationError when the policy survives the delete', async () => {
    // Prepare
    const { deps, store, iam } = fakeDeps();
    const id = await approvedRequest(deps);
    const request = (await store.get(id)) as NonNullable<Awaited<ReturnType<typeof store.get>>>;
    await inlinePolicy.grant(deps, request);
    iam.deletePolicy = async () => {};
    // Act
    const revoke = inlinePolicy.revoke(deps, request);
    // Assess
    await expect(revoke).rejects.toBeInstanceOf(VerificationError);
  });

  it("refuses a policy larger than the target type's inline-policy quota, naming the field", () => {
    // Prepare
    const resources = Array.from({ length: 40 }, (_, i) => `arn:aws:s3:::bucket-${i}/${'x'.repeat(40)}/*`);
    // Act
    const issues = inlinePolicy.limitIssues({
      targetType: 'user',
      durationSeconds: 900,
      permissions: [{ actions: ['s3:GetObject'], resources }],
    });
    // Assess
    expect(issues).toEqual([
      {
        field: 'permissions',
        message: expect.stringContaining("IAM allows for a user's inline policies is 2048"),
      },
    ]);
  });

  it('has no cleanup after revoke and attaches an Allow', () => {
    // Assess
    expect(inlinePolicy.attachesAllow).toBe(true);
    expect(inlinePolicy.ruleIssues({ targets: [arn.user('svc-*')], maxDurationSeconds: 43_200 })).toEqual([]);
  });
});
