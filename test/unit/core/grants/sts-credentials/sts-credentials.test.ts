import { describe, expect, it } from 'vitest';
import { PrincipalNotFoundError } from '#core/errors.ts';
import { stsCredentials } from '#core/grants/sts-credentials/sts-credentials.ts';
import type { AccessRequest } from '#core/model.ts';
import { arn, credentialsConfig, fakeDeps } from '../../../../support/fakes.ts';

/** A credentials request as stored once APPROVED, for the kind to act on. */
function approved(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: 'req-cred-1',
    status: 'APPROVED',
    version: 2,
    lastHash: 'h',
    requester: arn.assumed('Developer', 'alice'),
    target: arn.role('jit-release-prod'),
    targetType: 'role',
    kind: 'credentials',
    ruleId: 'release',
    permissions: [{ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::release/*'] }],
    durationSeconds: 900,
    reason: 'ship it',
    approvals: [],
    createdAt: '2026-11-22T10:00:00.000Z',
    updatedAt: '2026-11-22T10:00:00.000Z',
    ...overrides,
  };
}

describe('sts-credentials kind', () => {
  it('names the rule fields it refuses: user targets and durations above role chaining', () => {
    // Act
    const issues = stsCredentials.ruleIssues({
      targets: [arn.role('jit-*'), arn.user('svc-*')],
      maxDurationSeconds: 7200,
    });
    // Assess
    expect(issues.map((i) => i.field)).toEqual(['targets[1]', 'maxDurationSeconds']);
  });

  it('refuses a user target and a duration above 3,600 s', () => {
    // Act
    const target = stsCredentials.targetIssues('user');
    const limits = stsCredentials.limitIssues({
      targetType: 'role',
      durationSeconds: 3601,
      permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::x/*'] }],
    });
    // Assess
    expect(target).toEqual([{ field: 'target', message: expect.stringContaining('need a role') }]);
    expect(limits).toEqual([{ field: 'durationSeconds', message: expect.stringContaining('role chaining') }]);
  });

  it('issues a scoped session and seals it, returning the session and credentials to record', async () => {
    // Prepare
    const { deps, vault } = fakeDeps(credentialsConfig());
    const roleId = await deps.iam.getRoleId({
      account: '111122223333',
      type: 'role',
      name: 'jit-release-prod',
    });
    const request = approved();
    // Act
    const granted = await stsCredentials.grant(deps, request);
    // Assess
    expect(granted.details).toMatchObject({ kind: 'credentials', userId: `${roleId}:jit-req-cred-1` });
    expect(granted.patch?.session).toMatchObject({ roleId, sessionName: 'jit-req-cred-1' });
    const sealed = granted.patch?.sealedCredentials as string;
    const opened = JSON.parse(await vault.open(request.id, sealed)) as { AccessKeyId: string };
    expect(opened.AccessKeyId).toBeTruthy();
  });

  it('compensates a refused AssumeRole without writing a deny (no session was issued)', async () => {
    // Prepare
    const { deps, iam } = fakeDeps();
    // Act
    const done = await stsCredentials.compensate(deps, approved(), {
      error: 'TrustPolicyError',
      cause: 'no',
    });
    // Assess
    expect(done.details).toEqual({ sessionIssued: false });
    expect(iam.calls.filter((c) => c.op === 'put')).toEqual([]);
  });

  it('compensates with nothing to deny when the role itself is gone', async () => {
    // Prepare
    const { deps } = fakeDeps();
    deps.iam.getRoleId = async () => {
      throw new PrincipalNotFoundError('no such role');
    };
    // Act
    const done = await stsCredentials.compensate(deps, approved(), { error: 'Error', cause: 'timeout' });
    // Assess
    expect(done.details).toEqual({ sessionIssued: false });
  });

  it('attaches no Allow and waits for the session deny before its cleanup', () => {
    // Prepare
    const deny = { policyName: 'jit-req-cred-1', method: 'session', removeAfter: '2026-11-22T11:00:01Z' };
    const session = {
      roleId: 'AROA',
      sessionName: 'jit-req-cred-1',
      sourceIdentity: 'alice',
      credentialsExpireAt: 'x',
    };
    // Act
    const pending = stsCredentials.cleanupAt(approved({ session: { ...session, deny } as never }));
    const done = stsCredentials.cleanupAt(
      approved({ session: { ...session, deny: { ...deny, removedAt: '2026-11-22T11:00:05Z' } } as never }),
    );
    // Assess
    expect(stsCredentials.attachesAllow).toBe(false);
    expect(pending).toBe('2026-11-22T11:00:01Z');
    expect(done).toBeNull();
  });
});
