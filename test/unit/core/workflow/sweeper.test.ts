import { describe, expect, it } from 'vitest';
import { submitRequest } from '#core/requests/requests.ts';
import {
  compensateGrant,
  grantStep,
  markRevokeFailed,
  revokeGrant,
  validateStep,
} from '#core/workflow/steps.ts';
import {
  RECONCILER,
  reconcileInFlight,
  runSweep,
  SWEEPER,
  sweepExpiredGrants,
  sweepStrayPolicies,
} from '#core/workflow/sweeper.ts';
import { throttled } from '../../../../local/fakes/iam.ts';
import {
  ALICE,
  approvedRequest,
  arn,
  credentialsConfig,
  fakeDeps,
  grantedRequest,
  pendingRequest,
  validBody,
} from '../../../support/fakes.ts';

describe('sweeper', () => {
  it('revokes grants still held after the grace period and leaves younger ones to the workflow', async () => {
    // Prepare: one grant whose revoke failed, one that expired only a minute ago, one still running.
    const { deps, store, iam, clock } = fakeDeps();
    const failed = await grantedRequest(deps, validBody({ durationSeconds: 60 }));
    await markRevokeFailed(deps, failed, { Error: 'RetryableAwsError', Cause: 'throttled' });
    clock.advance(600);
    const recent = await grantedRequest(deps, validBody({ durationSeconds: 60 }));
    const running = await grantedRequest(deps, validBody({ durationSeconds: 3600 }));
    clock.advance(60 + 60);
    // Act
    const report = await sweepExpiredGrants(deps, { graceSeconds: 300 });
    // Assess
    expect(report).toEqual({ checked: 1, revoked: [failed], failed: [] });
    expect((await store.get(failed))?.status).toBe('REVOKED');
    expect((await store.events(failed)).at(-1)).toMatchObject({
      from: 'REVOKE_FAILED',
      to: 'REVOKED',
      actor: SWEEPER,
    });
    expect(Object.keys(iam.policiesOf(arn.role('app-reader')))).toEqual([`jit-${recent}`, `jit-${running}`]);
    expect((await store.get(recent))?.status).toBe('GRANTED');
  });

  it('keeps going when one revoke fails and reports it', async () => {
    // Prepare
    const { deps, store, iam, clock } = fakeDeps();
    const first = await grantedRequest(deps, validBody({ durationSeconds: 60 }));
    const second = await grantedRequest(deps, validBody({ durationSeconds: 60 }));
    clock.advance(3600);
    iam.inject({ op: 'delete', error: throttled, times: 1, policyName: (n) => n === `jit-${first}` });
    // Act
    const report = await sweepExpiredGrants(deps, { graceSeconds: 60 });
    // Assess
    expect(report.revoked).toEqual([second]);
    expect(report.failed).toEqual([
      { requestId: first, error: expect.stringContaining('RetryableAwsError') },
    ]);
    expect((await store.get(first))?.status).toBe('GRANTED');
    expect((await store.get(second))?.status).toBe('REVOKED');
  });
});

describe('stray jit-* policies', () => {
  const allow = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
  });
  const denyOnly = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
  });

  it('removes Allow policies named like grants that no live grant explains, and leaves the rest', async () => {
    // Prepare
    const { deps, iam } = fakeDeps();
    const live = await grantedRequest(deps, validBody());
    const reader = { account: '111122223333', type: 'role' as const, name: 'app-reader' };
    const other = { account: '111122223333', type: 'role' as const, name: 'app-writer' };
    await iam.putPolicy(reader, 'jit-handmade', allow); // no such request
    await iam.putPolicy(other, `jit-${live}`, allow); // a live grant's name, copied onto another role
    await iam.putPolicy(reader, 'jit-old-deny', denyOnly); // deny-only: never a standing privilege
    await iam.putPolicy(reader, 'team-policy', allow); // not ours
    // Act
    const strays = await sweepStrayPolicies(deps);
    // Assess
    expect(strays).toEqual(
      expect.arrayContaining([
        {
          principal: arn.role('app-reader'),
          policyName: 'jit-handmade',
          action: 'removed',
          reason: 'no request with this id',
        },
        {
          principal: arn.role('app-writer'),
          policyName: `jit-${live}`,
          action: 'removed',
          reason: `belongs to ${arn.role('app-reader')}`,
        },
        {
          principal: arn.role('app-reader'),
          policyName: 'jit-old-deny',
          action: 'left',
          reason: 'deny-only, no request',
        },
      ]),
    );
    expect(strays).toHaveLength(3);
    expect(Object.keys(iam.policiesOf(arn.role('app-reader'))).sort()).toEqual(
      [`jit-${live}`, 'jit-old-deny', 'team-policy'].sort(),
    );
    expect(iam.policiesOf(arn.role('app-writer'))).toEqual({});
  });

  it('removes a grant policy that outlived its request, and never touches protected principals', async () => {
    // Prepare
    const { deps, iam } = fakeDeps();
    const id = await grantedRequest(deps, validBody());
    const doc = iam.policiesOf(arn.role('app-reader'))[`jit-${id}`] ?? '';
    await revokeGrant(deps, id, 'system:expiry', 'expired');
    await iam.putPolicy({ account: '111122223333', type: 'role', name: 'app-reader' }, `jit-${id}`, doc); // re-attached by hand
    await iam.putPolicy({ account: '111122223333', type: 'role', name: 'app-broker-grant' }, 'jit-x', allow); // protected principal
    // Act
    const strays = await sweepStrayPolicies(deps);
    // Assess
    expect(strays).toEqual([
      {
        principal: arn.role('app-reader'),
        policyName: `jit-${id}`,
        action: 'removed',
        reason: 'request is REVOKED',
      },
    ]);
    expect(iam.policiesOf(arn.role('app-broker-grant'))).toEqual({ 'jit-x': allow });
  });
});

describe('stray sweep edge cases', () => {
  const allow = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
  });

  it('treats the policy of a request stuck in APPROVED as in flight for an hour, then as a leftover', async () => {
    // Prepare: the policy was written, then the grant's execution died (request stays APPROVED).
    const { deps, iam, clock } = fakeDeps();
    const id = await approvedRequest(deps);
    await iam.putPolicy({ account: '111122223333', type: 'role', name: 'app-reader' }, `jit-${id}`, allow);
    // Act
    const soon = await sweepStrayPolicies(deps);
    clock.advance(3601);
    const later = await sweepStrayPolicies(deps);
    // Assess
    expect(soon).toEqual([]);
    expect(later).toEqual([expect.objectContaining({ policyName: `jit-${id}`, action: 'removed' })]);
  });

  it('reports a policy it cannot remove and goes on with the others', async () => {
    // Prepare
    const { deps, iam } = fakeDeps();
    await iam.putPolicy({ account: '111122223333', type: 'role', name: 'app-a' }, 'jit-stuck', allow);
    await iam.putPolicy({ account: '111122223333', type: 'role', name: 'app-b' }, 'jit-loose', allow);
    iam.inject({
      op: 'delete',
      times: Number.POSITIVE_INFINITY,
      policyName: (n) => n === 'jit-stuck',
      error: () => Object.assign(new Error('not allowed'), { name: 'AccessDenied' }),
    });
    // Act
    const strays = await sweepStrayPolicies(deps);
    // Assess
    expect(strays).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          policyName: 'jit-stuck',
          action: 'failed',
          reason: expect.stringContaining('AccessDenied'),
        }),
        expect.objectContaining({ policyName: 'jit-loose', action: 'removed' }),
      ]),
    );
    expect(iam.policiesOf(arn.role('app-b'))).toEqual({});
  });
});

describe('reconciler', () => {
  it('closes undecided requests whose execution is over, saying how it ended', async () => {
    // Prepare: one request never validated, one pending approval; both executions are gone.
    const { deps, store, workflow, clock } = fakeDeps();
    const { requestId: requested } = await submitRequest(deps, ALICE, validBody());
    const pending = await pendingRequest(deps);
    workflow.statuses.set(requested, 'ABORTED');
    workflow.statuses.set(pending, 'NOT_FOUND');
    clock.advance(301);
    // Act
    const report = await reconcileInFlight(deps);
    // Assess
    expect(report.failed).toEqual([]);
    expect(report.reconciled).toEqual([
      { requestId: requested, from: 'REQUESTED', to: 'REJECTED', execution: 'ABORTED' },
      { requestId: pending, from: 'PENDING_APPROVAL', to: 'APPROVAL_EXPIRED', execution: 'NOT_FOUND' },
    ]);
    expect((await store.events(requested)).at(-1)).toMatchObject({
      to: 'REJECTED',
      actor: RECONCILER,
      details: { code: 'WorkflowEnded', execution: 'ABORTED' },
    });
    expect((await store.get(pending))?.taskToken).toBeUndefined();
  });

  it('removes what an approved request may have written when its execution died mid-grant', async () => {
    // Prepare: the grant step wrote the policy, then the execution was stopped before recording GRANTED.
    const { deps, store, iam, workflow, clock } = fakeDeps();
    const id = await approvedRequest(deps);
    await iam.putPolicy(
      { account: '111122223333', type: 'role', name: 'app-reader' },
      `jit-${id}`,
      '{"Statement":[{"Effect":"Allow"}]}',
    );
    workflow.statuses.set(id, 'ABORTED');
    clock.advance(301);
    // Act
    const report = await reconcileInFlight(deps);
    // Assess
    expect(report.reconciled).toEqual([
      { requestId: id, from: 'APPROVED', to: 'GRANT_FAILED', execution: 'ABORTED' },
    ]);
    expect(iam.policiesOf(arn.role('app-reader'))).toEqual({});
    expect((await store.events(id)).at(-1)?.details).toMatchObject({
      removed: true,
      error: { error: 'WorkflowEnded' },
    });
  });

  it('leaves requests whose execution still runs, and requests that changed recently', async () => {
    // Prepare
    const { deps, store, workflow, clock } = fakeDeps();
    const running = await pendingRequest(deps);
    clock.advance(301);
    const recent = await pendingRequest(deps);
    workflow.statuses.set(recent, 'ABORTED');
    // Act
    const report = await reconcileInFlight(deps, { reconcileAfterSeconds: 300 });
    // Assess
    expect(report).toEqual({ reconciled: [], failed: [] });
    expect((await store.get(running))?.status).toBe('PENDING_APPROVAL');
    expect((await store.get(recent))?.status).toBe('PENDING_APPROVAL');
  });

  it('runs as part of every sweep', async () => {
    // Prepare
    const { deps, store, workflow, clock } = fakeDeps();
    const id = await pendingRequest(deps);
    workflow.statuses.set(id, 'FAILED');
    clock.advance(301);
    // Act
    const report = await runSweep(deps);
    // Assess
    expect(report.reconciled.map((r) => r.requestId)).toEqual([id]);
    expect((await store.get(id))?.status).toBe('APPROVAL_EXPIRED');
  });
});

const ROLE = 'jit-release-prod';

function setup() {
  return fakeDeps(credentialsConfig());
}

async function approved(env: ReturnType<typeof setup>) {
  const { requestId } = await submitRequest(env.deps, ALICE, {
    kind: 'credentials',
    target: arn.role(ROLE),
    permissions: [{ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::release/app/*'] }],
    durationSeconds: 600,
    reason: 'ship it',
  });
  await validateStep(env.deps, requestId);
  return requestId;
}

describe('sweeper and session denies', () => {
  it('removes a session deny whose cleanup step never ran, once every session it ends has expired', async () => {
    // Prepare: granted, revoked (deny attached), and the workflow's cleanup never happened.
    const env = setup();
    const id = await approved(env);
    await grantStep(env.deps, id);
    await revokeGrant(env.deps, id, 'system:expiry', 'expired');
    // Act
    const early = await sweepStrayPolicies(env.deps);
    env.clock.advance(900 + 301 + 1);
    const late = await sweepStrayPolicies(env.deps);
    const last = (await env.store.events(id)).at(-1);
    // Assess
    expect(early).toEqual([]);
    expect(late).toEqual([expect.objectContaining({ policyName: `jit-${id}`, action: 'removed' })]);
    expect(env.iam.policiesOf(arn.role(ROLE))).toEqual({});
    expect(last).toMatchObject({
      from: 'REVOKED',
      to: 'REVOKED',
      details: { event: 'SESSION_DENY_REMOVED' },
    });
  });

  it('removes the deny a failed credentials grant left, only after any session could have expired', async () => {
    // Prepare: the grant failed after AssumeRole (not a trust failure), so compensation denied the session.
    const env = setup();
    const id = await approved(env);
    await compensateGrant(env.deps, id, { Error: 'NetworkingError', Cause: 'lost response' });
    const attached = Object.keys(env.iam.policiesOf(arn.role(ROLE)));
    // Act
    env.clock.advance(3600);
    const tooEarly = await sweepStrayPolicies(env.deps);
    env.clock.advance(301);
    const after = await sweepStrayPolicies(env.deps);
    // Assess
    expect(attached).toEqual([`jit-${id}`]);
    expect(tooEarly).toEqual([]);
    expect(after).toEqual([expect.objectContaining({ policyName: `jit-${id}`, action: 'removed' })]);
    expect(env.iam.policiesOf(arn.role(ROLE))).toEqual({});
  });
});
