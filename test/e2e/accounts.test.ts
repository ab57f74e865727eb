import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfigInput } from '#core/policy/config.ts';
import type { PrincipalRef } from '#core/ports.ts';
import { NOTHING_ATTACHED } from '#core/workflow/steps.ts';
import type { SimulatedSession } from '../../local/fakes/sts.ts';
import type { LocalBroker } from '../../local/runtime.ts';
import { evaluateSession } from '../support/iam-eval.ts';
import { ACCOUNT, call, DEV, startBroker, submit, waitForStatus } from './harness.ts';

/** Hub A runs the broker; targets live in B and C (and D, whose grantor trust is broken). */
const A = ACCOUNT;
const B = '222233334444';
const C = '333344445555';
const D = '444455556666';
const EXTERNAL_ID = 'jit-e2e-external-id';
const role = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
const ref = (account: string, name: string): PrincipalRef => ({ account, type: 'role', name });
const RELEASE_ROLE = 'jit-release-prod';
const OBJECT = 'arn:aws:s3:::release-artifacts/app/v42.zip';
const ROLE_BASE = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::release-artifacts/*'] }],
});

const config: PolicyConfigInput = {
  approvalWindowSeconds: 120,
  defaultDurationSeconds: 3,
  minDurationSeconds: 1,
  maxDurationSeconds: 3600,
  externalId: EXTERNAL_ID,
  accounts: [{ id: B, name: 'workload-b' }, { id: C, name: 'workload-c' }, { id: D }],
  rules: [
    {
      id: 'app-read-anywhere',
      requesters: [DEV('*')],
      targets: ['arn:aws:iam::*:role/app-*'],
      actions: ['s3:GetObject'],
      resources: ['arn:aws:s3:::app-data/*'],
      maxDurationSeconds: 600,
      approval: 'auto',
    },
    {
      id: 'release-b',
      kind: 'credentials',
      requesters: [DEV('*')],
      targets: [role(B, 'jit-release-*')],
      actions: ['s3:PutObject'],
      resources: ['arn:aws:s3:::release-artifacts/*'],
      maxDurationSeconds: 3600,
      approval: 'auto',
    },
  ],
};

function readRequest(target: string, durationSeconds = 3) {
  return {
    target,
    permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/q3.csv'] }],
    durationSeconds,
    reason: 'e2e: read across accounts',
  };
}

interface IamView {
  principals: { arn: string; inlinePolicies: Record<string, unknown> }[];
  sessions: { roleArn: string; userId: string }[];
}

describe('local runtime: grants across accounts through each account grantor', () => {
  let broker: LocalBroker;
  const iamOf = async (account?: string) =>
    (await call<IamView>(broker, undefined, 'GET', `/_local/iam${account ? `?account=${account}` : ''}`))
      .body;
  const holders = (view: IamView, policy: string) =>
    view.principals.filter((p) => policy in p.inlinePolicies).map((p) => p.arn);

  beforeAll(async () => {
    // 900 s STS credentials live 6 s here: long enough to outlive a 2 s window, short enough to wait for.
    broker = await startBroker(config, { sessionLifetimeScale: 6 / 900 });
    broker.sts.breakGrantorTrust(D);
    await broker.iam.putPolicy(ref(B, RELEASE_ROLE), 'base', ROLE_BASE);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('grants in B only, through B grantor, and the grant is gone after expiry', async () => {
    // Act
    const id = await submit(broker, DEV('alice'), readRequest(role(B, 'app-reader')));
    await waitForStatus(broker, id, 'GRANTED');
    const during = { b: await iamOf(B), c: await iamOf(C), a: await iamOf(A), all: await iamOf() };
    await waitForStatus(broker, id, 'REVOKED');
    const after = await iamOf(B);
    // Assess
    expect(holders(during.b, `jit-${id}`)).toEqual([role(B, 'app-reader')]);
    expect(holders(during.c, `jit-${id}`)).toEqual([]);
    expect(holders(during.a, `jit-${id}`)).toEqual([]);
    expect(holders(during.all, `jit-${id}`)).toEqual([role(B, 'app-reader')]);
    expect(holders(after, `jit-${id}`)).toEqual([]);
    expect(broker.sts.grantorAssumptions).toContainEqual({
      roleArn: role(B, 'JitGrantor'),
      sessionName: 'jit-grant',
    });
    expect(broker.sts.grantorAssumptions.some((g) => g.roleArn.includes(`::${C}:`))).toBe(false);
  });

  it('revokes early in C', async () => {
    // Prepare
    const id = await submit(broker, DEV('bob'), readRequest(role(C, 'app-writer'), 300));
    await waitForStatus(broker, id, 'GRANTED');
    const during = holders(await iamOf(C), `jit-${id}`);
    // Act
    const revoke = await call(broker, DEV('bob'), 'POST', `/requests/${id}/revoke`, { reason: 'done' });
    await waitForStatus(broker, id, 'REVOKED');
    // Assess
    expect(revoke.status).toBe(202);
    expect(during).toEqual([role(C, 'app-writer')]);
    expect(holders(await iamOf(C), `jit-${id}`)).toEqual([]);
    expect(holders(await iamOf(), `jit-${id}`)).toEqual([]);
    expect(broker.sts.grantorAssumptions).toContainEqual({
      roleArn: role(C, 'JitGrantor'),
      sessionName: 'jit-revoke',
    });
  });

  it('issues credentials on a role in B and denies the session in B at revoke', async () => {
    // Act
    const id = await submit(broker, DEV('carol'), {
      kind: 'credentials',
      target: role(B, RELEASE_ROLE),
      permissions: [{ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::release-artifacts/app/*'] }],
      durationSeconds: 2,
      reason: 'ship release 42',
    });
    await waitForStatus(broker, id, 'GRANTED');
    const session = broker.sts.sessions.find((s) => s.userId.endsWith(`:jit-${id}`)) as SimulatedSession;
    const sessionsInB = (await iamOf(B)).sessions.map((s) => s.userId);
    const sessionsInC = (await iamOf(C)).sessions.map((s) => s.userId);
    const during = await evaluateSession({
      session,
      rolePolicies: broker.iam.policiesOf(role(B, RELEASE_ROLE)),
      action: 's3:PutObject',
      resource: OBJECT,
      at: new Date(),
    });
    await waitForStatus(broker, id, 'REVOKED');
    const denyInB = broker.iam.policiesOf(role(B, RELEASE_ROLE))[`jit-${id}`];
    const afterRevoke = await evaluateSession({
      session,
      rolePolicies: broker.iam.policiesOf(role(B, RELEASE_ROLE)),
      action: 's3:PutObject',
      resource: OBJECT,
      at: new Date(),
    });
    // Assess
    expect(session.roleArn).toBe(role(B, RELEASE_ROLE));
    expect(sessionsInB).toContain(session.userId);
    expect(sessionsInC).not.toContain(session.userId);
    expect(during).toBe('Allowed');
    expect(denyInB).toContain('JitRevokeSession');
    expect(afterRevoke).toBe('ExplicitlyDenied');
    expect(holders(await iamOf(C), `jit-${id}`)).toEqual([]);
  });

  it('ends a grant in an account whose grantor trust is wrong GRANT_FAILED, naming the account, while B keeps working', async () => {
    // Act
    const broken = await submit(broker, DEV('dave'), readRequest(role(D, 'app-reader')));
    const failed = await waitForStatus(broker, broken, 'GRANT_FAILED');
    const fine = await submit(broker, DEV('dave'), readRequest(role(B, 'app-reader'), 300));
    await waitForStatus(broker, fine, 'GRANTED');
    const events = await broker.deps.store.events(broken);
    const last = events.at(-1);
    // Assess
    expect(failed.status).toBe('GRANT_FAILED');
    expect(last?.details).toMatchObject({
      error: {
        error: 'GrantorUnavailableError',
        cause: expect.stringMatching(
          new RegExp(`${role(D, 'JitGrantor')} in account ${D} \\(AccessDenied.*ExternalId`),
        ),
      },
      compensation: NOTHING_ATTACHED,
    });
    expect(broker.outcomes.GrantFailed).toBeGreaterThanOrEqual(1);
    expect(holders(await iamOf(D), `jit-${broken}`)).toEqual([]);
    expect(holders(await iamOf(B), `jit-${fine}`)).toEqual([role(B, 'app-reader')]);
    await call(broker, DEV('dave'), 'POST', `/requests/${fine}/revoke`, {});
    await waitForStatus(broker, fine, 'REVOKED');
  });

  it('sweeps an orphan jit-* policy in C, and reports the unreachable account after sweeping the others', async () => {
    // Prepare
    const allow = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::app-data/*' }],
    });
    await broker.iam.putPolicy(ref(C, 'app-orphan'), 'jit-orphan', allow);
    await broker.iam.putPolicy(ref(B, 'app-bystander'), 'not-jit', allow);
    // Act
    const report = await broker.sweep();
    // Assess
    expect(report.strays).toContainEqual(
      expect.objectContaining({
        principal: role(C, 'app-orphan'),
        policyName: 'jit-orphan',
        action: 'removed',
      }),
    );
    expect(broker.iam.policiesOf(role(C, 'app-orphan'))).toEqual({});
    expect(broker.iam.policiesOf(role(B, 'app-bystander'))).toHaveProperty('not-jit');
    expect(report.accountsFailed).toEqual([
      { account: D, error: expect.stringMatching(new RegExp(`GrantorUnavailableError: .*account ${D}`)) },
    ]);
    expect(broker.sts.grantorAssumptions).toContainEqual({
      roleArn: role(C, 'JitGrantor'),
      sessionName: 'jit-sweeper',
    });
  });
});
