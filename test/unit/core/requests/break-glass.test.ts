import { describe, expect, it } from 'vitest';
import {
  type BrokerError,
  ConflictError,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
} from '#core/errors.ts';
import type { AccessRequest } from '#core/model.ts';
import type { PolicyConfig, PolicyConfigInput } from '#core/policy/config.ts';
import type { BrokerAlert, Deps } from '#core/ports.ts';
import {
  announceBreakGlass,
  BREAK_GLASS_REVIEWERS,
  breakGlassAlert,
  breakGlassReviewsDue,
  reviewBreakGlass,
} from '#core/requests/break-glass.ts';
import { submitRequest } from '#core/requests/requests.ts';
import { runFollowUps } from '#core/requests/review.ts';
import { grantStep, revokeGrant, validateStep } from '#core/workflow/steps.ts';
import { ACCOUNT, ALICE, arn, fakeDeps, testConfig, testConfigInput } from '../../../support/fakes.ts';

/** A named on-call engineer who is also a break-glass reviewer (of others' grants). */
const OLGA = arn.assumed('Oncall', 'olga');
/** One person (people.alice) behind two on-call principals and a reviewer principal. */
const ALICE_ONCALL = arn.assumed('Oncall', 'alice');
const ALICE_ALT = arn.assumed('Oncall', 'al-smith');
const ALICE_REVIEWER = arn.assumed('Reviewer', 'a.smith');
/** Another on-call engineer. */
const PETE = arn.assumed('Oncall', 'pete');
/** Break-glass reviewers. */
const RITA = arn.assumed('Reviewer', 'rita');
const ROY = arn.assumed('Reviewer', 'roy');
/** Rita again, through another reviewer role (same session name: same person). */
const RITA_SECURITY = arn.assumed('Security', 'rita');
/** A third reviewer. */
const SAM = arn.assumed('Security', 'sam');

const INSTANCE = `arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/i-0abc`;

/** The test config plus a break-glass rule for the on-call engineers and the reviewers section. */
function bgConfig(overrides: Partial<PolicyConfigInput> = {}): PolicyConfig {
  return testConfig({
    rules: [
      ...testConfigInput().rules,
      {
        id: 'prod-break-glass',
        requesters: [OLGA, ALICE_ONCALL, ALICE_ALT, PETE],
        targets: [arn.role('prod-admin')],
        actions: ['ec2:RebootInstances', 'ec2:DescribeInstances'],
        resources: [`arn:aws:ec2:*:${ACCOUNT}:instance/*`],
        maxDurationSeconds: 3600,
        approval: 'auto',
        extension: { maxExtensions: 0 },
        breakGlass: true,
      },
    ],
    people: { alice: [ALICE_ONCALL, ALICE_ALT, ALICE_REVIEWER] },
    breakGlass: {
      reviewers: [arn.assumed('Reviewer', '*'), arn.assumed('Security', '*'), OLGA],
      reviewOverdueHours: 24,
    },
    ...overrides,
  });
}

/** A break-glass body for the prod-admin target. */
function bgBody(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'policy',
    target: arn.role('prod-admin'),
    permissions: [{ actions: ['ec2:RebootInstances'], resources: [INSTANCE] }],
    durationSeconds: 1800,
    reason: 'web fleet wedged, reboot the stuck instance',
    incident: 'INC-7',
    reasonCode: 'outage',
    ...overrides,
  };
}

/** Fake deps around the break-glass config. */
function setup(overrides: Partial<PolicyConfigInput> = {}) {
  return fakeDeps(bgConfig(overrides));
}

/** Submits, auto-approves and grants a break-glass request of `caller`. */
async function grantedBreakGlass(deps: Deps, caller = OLGA, body = bgBody()): Promise<string> {
  const { requestId } = await submitRequest(deps, caller, body);
  const { outcome } = await validateStep(deps, requestId);
  if (outcome !== 'AUTO_APPROVED') throw new Error(`expected AUTO_APPROVED, got ${outcome}`);
  await grantStep(deps, requestId);
  return requestId;
}

/** A break-glass request of `caller` granted and then revoked (early, 10 minutes in). */
async function revokedBreakGlass(env: ReturnType<typeof setup>, caller = OLGA): Promise<string> {
  const id = await grantedBreakGlass(env.deps, caller);
  env.clock.advance(600);
  await revokeGrant(env.deps, id, caller, 'incident mitigated');
  return id;
}

/** Runs `act` and returns what it threw; fails the test when it does not throw. */
async function thrown(act: () => Promise<unknown>): Promise<BrokerError> {
  try {
    await act();
  } catch (error) {
    return error as BrokerError;
  }
  throw new Error('expected an error');
}

const stored = (env: ReturnType<typeof setup>, id: string) => env.store.requests.get(id) as AccessRequest;

const APPROPRIATE = { verdict: 'appropriate', notes: 'rebooted one instance as the incident needed' };

describe('submitRequest: break-glass', () => {
  it('records a break-glass request with its incident, no reviews yet, and its reason code', async () => {
    // Prepare
    const env = setup();
    // Act
    const { requestId, status } = await submitRequest(env.deps, OLGA, bgBody());
    // Assess
    expect(status).toBe('REQUESTED');
    const request = stored(env, requestId);
    expect(request.breakGlass).toEqual({ incident: 'INC-7', reviews: [] });
    expect(request.reasonCode).toBe('outage');
    expect(request.ruleId).toBe('prod-break-glass');
    expect(env.workflow.started).toEqual([requestId]);
    const [created] = env.store.eventLog.get(requestId) ?? [];
    expect(created?.details).toMatchObject({
      ruleId: 'prod-break-glass',
      breakGlass: true,
      incident: 'INC-7',
      reasonCode: 'outage',
    });
  });

  it('auto-approves and grants a break-glass request with no approval step', async () => {
    // Prepare
    const env = setup();
    // Act
    const id = await grantedBreakGlass(env.deps);
    // Assess
    const request = stored(env, id);
    expect(request.status).toBe('GRANTED');
    expect(request.approvals).toEqual([]);
    expect(env.pending).toEqual([]);
  });

  it('refuses a second break-glass request while the first is REQUESTED (409 BreakGlassActive)', async () => {
    // Prepare
    const env = setup();
    const { requestId: first } = await submitRequest(env.deps, OLGA, bgBody());
    // Act
    const error = await thrown(() => submitRequest(env.deps, OLGA, bgBody({ incident: 'INC-8' })));
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'BreakGlassActive' });
    expect(error.message).toContain(first);
    expect(error.message).toContain('REQUESTED');
    expect(error.details?.map((d) => d.field)).toEqual(['incident']);
    expect(env.store.requests.size).toBe(1);
  });

  it('refuses a second break-glass request while the first is GRANTED (409 BreakGlassActive)', async () => {
    // Prepare
    const env = setup();
    const first = await grantedBreakGlass(env.deps);
    // Act
    const error = await thrown(() => submitRequest(env.deps, OLGA, bgBody({ incident: 'INC-8' })));
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'BreakGlassActive' });
    expect(error.message).toContain(`${first} (GRANTED)`);
  });

  it('refuses a break-glass request from another principal of the same person (people map)', async () => {
    // Prepare
    const env = setup();
    await grantedBreakGlass(env.deps, ALICE_ONCALL);
    // Act
    const error = await thrown(() => submitRequest(env.deps, ALICE_ALT, bgBody({ incident: 'INC-8' })));
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'BreakGlassActive' });
  });

  it("accepts another person's break-glass request while one is active", async () => {
    // Prepare
    const env = setup();
    await grantedBreakGlass(env.deps, OLGA);
    // Act
    const { status } = await submitRequest(env.deps, PETE, bgBody());
    // Assess
    expect(status).toBe('REQUESTED');
  });

  it('accepts a new break-glass request once the previous one is revoked and not overdue', async () => {
    // Prepare
    const env = setup();
    await revokedBreakGlass(env);
    // Act
    const { status } = await submitRequest(env.deps, OLGA, bgBody({ incident: 'INC-8' }));
    // Assess
    expect(status).toBe('REQUESTED');
  });

  it('does not count an ordinary active request against break-glass', async () => {
    // Prepare: Alice (Developer/alice shares the session name of Oncall/alice) holds an ordinary request.
    const env = setup();
    await submitRequest(env.deps, ALICE, {
      kind: 'policy',
      target: arn.role('ops-logs'),
      permissions: [{ actions: ['logs:GetLogEvents'], resources: [`arn:aws:logs:*:${ACCOUNT}:log-group:*`] }],
      durationSeconds: 600,
      reason: 'read the logs',
    });
    // Act
    const { status } = await submitRequest(env.deps, ALICE_ONCALL, bgBody());
    // Assess
    expect(status).toBe('REQUESTED');
  });

  it('refuses break-glass while a review of the same person is overdue (403)', async () => {
    // Prepare
    const env = setup();
    const first = await revokedBreakGlass(env, ALICE_ONCALL);
    const request = stored(env, first);
    env.store.requests.set(first, {
      ...request,
      followUpAt: '2026-11-23T10:10:00.000Z',
      breakGlass: {
        ...(request.breakGlass ?? { incident: 'INC-7', reviews: [] }),
        overdueAt: '2026-11-23T10:10:00.000Z',
      },
    });
    // Act
    const error = await thrown(() => submitRequest(env.deps, ALICE_ALT, bgBody({ incident: 'INC-9' })));
    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toContain(`the review of ${first} is overdue`);
    expect(error.details?.map((d) => d.field)).toEqual(['incident']);
    expect(env.store.requests.size).toBe(1);
  });

  it('accepts break-glass again once the overdue review is done', async () => {
    // Prepare
    const env = setup();
    const first = await revokedBreakGlass(env);
    const request = stored(env, first);
    env.store.requests.set(first, {
      ...request,
      followUpAt: '2026-11-23T10:10:00.000Z',
      breakGlass: {
        ...(request.breakGlass ?? { incident: 'INC-7', reviews: [] }),
        overdueAt: '2026-11-23T10:10:00.000Z',
      },
    });
    await reviewBreakGlass(env.deps, RITA, first, APPROPRIATE);
    await reviewBreakGlass(env.deps, ROY, first, APPROPRIATE);
    // Act
    const { status } = await submitRequest(env.deps, OLGA, bgBody({ incident: 'INC-9' }));
    // Assess
    expect(status).toBe('REQUESTED');
  });
});

describe('breakGlassAlert', () => {
  it('says who, what, where, why and until when', async () => {
    // Prepare
    const env = setup();
    const id = await grantedBreakGlass(env.deps, OLGA, {
      ...bgBody(),
      permissions: [
        { actions: ['ec2:RebootInstances', 'ec2:DescribeInstances'], resources: [INSTANCE] },
        {
          actions: ['ec2:DescribeInstances'],
          resources: [`arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/i-0def`],
        },
      ],
    });
    const request = stored(env, id);
    // Act
    const alert = breakGlassAlert(request);
    // Assess
    expect(request.expiresAt).toBe('2026-11-22T10:30:00Z');
    expect(alert.subject).toBe('BREAK-GLASS granted: INC-7 olga');
    const lines = alert.text.split('\n');
    expect(lines).toContain(`Who: ${OLGA}`);
    expect(lines).toContain(
      `What: ec2:RebootInstances, ec2:DescribeInstances on ${INSTANCE}; ec2:DescribeInstances on arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/i-0def`,
    );
    expect(lines).toContain(`Where: ${arn.role('prod-admin')}`);
    expect(lines).toContain('Why: INC-7 (outage): web fleet wedged, reboot the stuck instance');
    expect(lines).toContain('Until: 2026-11-22T10:30:00Z');
    expect(lines[0]).toContain(id);
    expect(alert.fields).toEqual({
      type: 'break-glass-granted',
      requestId: id,
      requester: OLGA,
      target: arn.role('prod-admin'),
      permissions: request.permissions,
      incident: 'INC-7',
      reasonCode: 'outage',
      reason: 'web fleet wedged, reboot the stuck instance',
      expiresAt: '2026-11-22T10:30:00Z',
    });
  });

  it('says "its expiry" for a request not yet granted', async () => {
    // Prepare
    const env = setup();
    const { requestId } = await submitRequest(env.deps, OLGA, bgBody());
    // Act
    const alert = breakGlassAlert(stored(env, requestId));
    // Assess
    expect(alert.text.split('\n')).toContain('Until: its expiry');
  });
});

describe('announceBreakGlass', () => {
  /** Alerts whose publish fails `failures` times, then succeeds; counts calls. */
  function flakyAlerts(failures: number) {
    const published: BrokerAlert[] = [];
    let calls = 0;
    const alerts = {
      publish: async (alert: BrokerAlert) => {
        calls++;
        if (calls <= failures) throw new Error(`sns down (${calls})`);
        published.push(alert);
      },
    };
    return { alerts, published, calls: () => calls };
  }

  async function requestOf(env: ReturnType<typeof setup>): Promise<AccessRequest> {
    const id = await grantedBreakGlass(env.deps);
    return stored(env, id);
  }

  it('publishes the break-glass alert once when it goes through', async () => {
    // Prepare
    const env = setup();
    const request = await requestOf(env);
    const flaky = flakyAlerts(0);
    // Act
    const failures = await announceBreakGlass({ ...env.deps, alerts: flaky.alerts }, request);
    // Assess
    expect(failures).toEqual([]);
    expect(flaky.calls()).toBe(1);
    expect(flaky.published).toEqual([breakGlassAlert(request)]);
  });

  it('retries a failed publish once and succeeds', async () => {
    // Prepare
    const env = setup();
    const request = await requestOf(env);
    const flaky = flakyAlerts(1);
    // Act
    const failures = await announceBreakGlass({ ...env.deps, alerts: flaky.alerts }, request);
    // Assess
    expect(failures).toEqual([]);
    expect(flaky.calls()).toBe(2);
    expect(flaky.published).toHaveLength(1);
  });

  it('returns the failure after two failed publishes, and tries no third time', async () => {
    // Prepare
    const env = setup();
    const request = await requestOf(env);
    const flaky = flakyAlerts(5);
    // Act
    const failures = await announceBreakGlass({ ...env.deps, alerts: flaky.alerts }, request);
    // Assess
    expect(failures).toEqual(['break-glass alert failed: sns down (2)']);
    expect(flaky.calls()).toBe(2);
    expect(flaky.published).toEqual([]);
  });

  it('reports a Slack card that fails twice beside a working alert', async () => {
    // Prepare
    const env = setup();
    const request = await requestOf(env);
    const flaky = flakyAlerts(0);
    let announces = 0;
    const approvals = {
      ...env.deps.approvals,
      announce: async () => {
        announces++;
        throw new Error('slack down');
      },
    };
    // Act
    const failures = await announceBreakGlass({ alerts: flaky.alerts, approvals }, request);
    // Assess
    expect(failures).toEqual(['break-glass Slack card failed: slack down']);
    expect(announces).toBe(2);
    expect(flaky.calls()).toBe(1);
  });

  it('sends nothing and reports nothing without alerts or a Slack card', async () => {
    // Prepare
    const env = setup();
    const request = await requestOf(env);
    // Act
    const failures = await announceBreakGlass({ approvals: env.deps.approvals }, request);
    // Assess
    expect(failures).toEqual([]);
  });

  it('is called by the grant step, which returns the failures beside the grant', async () => {
    // Prepare
    const env = setup();
    const flaky = flakyAlerts(5);
    const deps = { ...env.deps, alerts: flaky.alerts };
    const { requestId } = await submitRequest(deps, OLGA, bgBody());
    await validateStep(deps, requestId);
    // Act
    const out = await grantStep(deps, requestId);
    // Assess
    expect(out.alertFailures).toEqual(['break-glass alert failed: sns down (2)']);
    expect(stored(env, requestId).status).toBe('GRANTED');
  });
});

describe('revokeGrant: break-glass', () => {
  it('sets the review deadline to the revoke time plus reviewOverdueHours, and the first follow-up', async () => {
    // Prepare
    const env = setup();
    const id = await grantedBreakGlass(env.deps);
    env.clock.advance(600);
    // Act
    await revokeGrant(env.deps, id, OLGA, 'incident mitigated');
    // Assess
    const request = stored(env, id);
    expect(request.status).toBe('REVOKED');
    expect(request.breakGlass?.reviewDueBy).toBe('2026-11-23T10:10:00.000Z');
    // The audit review's first pass (revoke + the 900 s delivery delay) comes before the deadline.
    expect(request.followUpAt).toBe('2026-11-22T10:25:00.000Z');
    expect(request.breakGlass?.reviews).toEqual([]);
    expect(request.breakGlass?.reviewed).toBeUndefined();
  });

  it('follows up at the review deadline when it comes before the audit review pass', async () => {
    // Prepare
    const env = setup({
      audit: { auditors: [], deliveryDelaySeconds: 7200 },
      breakGlass: { reviewers: [arn.assumed('Reviewer', '*')], reviewOverdueHours: 1 },
    });
    const id = await grantedBreakGlass(env.deps);
    env.clock.advance(600);
    // Act
    await revokeGrant(env.deps, id, OLGA, 'incident mitigated');
    // Assess
    const request = stored(env, id);
    expect(request.breakGlass?.reviewDueBy).toBe('2026-11-22T11:10:00.000Z');
    expect(request.followUpAt).toBe('2026-11-22T11:10:00.000Z');
  });
});

describe('reviewBreakGlass', () => {
  it('refuses a caller who is not a break-glass reviewer (403)', async () => {
    // Prepare
    const env = setup();
    const id = await revokedBreakGlass(env);
    // Act
    const error = await thrown(() => reviewBreakGlass(env.deps, PETE, id, APPROPRIATE));
    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toContain('only the break-glass reviewers');
  });

  it('refuses the requester even though they match the reviewer patterns (403)', async () => {
    // Prepare
    const env = setup();
    const id = await revokedBreakGlass(env, OLGA);
    // Act
    const error = await thrown(() => reviewBreakGlass(env.deps, OLGA, id, APPROPRIATE));
    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toContain('never reviews their own');
  });

  it("refuses the requester's reviewer principal (same person via people) (403)", async () => {
    // Prepare
    const env = setup();
    const id = await revokedBreakGlass(env, ALICE_ONCALL);
    // Act
    const error = await thrown(() => reviewBreakGlass(env.deps, ALICE_REVIEWER, id, APPROPRIATE));
    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toContain('never reviews their own');
  });

  it('refuses a review before the revoke (409 NotAwaitingReview)', async () => {
    // Prepare
    const env = setup();
    const id = await grantedBreakGlass(env.deps);
    // Act
    const error = await thrown(() => reviewBreakGlass(env.deps, RITA, id, APPROPRIATE));
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'NotAwaitingReview' });
    expect(error.message).toContain('GRANTED');
    expect(stored(env, id).breakGlass?.reviews).toEqual([]);
  });

  it('refuses a review of a request that is not break-glass (409 NotAwaitingReview)', async () => {
    // Prepare
    const env = setup();
    const { requestId } = await submitRequest(env.deps, ALICE, {
      kind: 'policy',
      target: arn.role('ops-logs'),
      permissions: [{ actions: ['logs:GetLogEvents'], resources: [`arn:aws:logs:*:${ACCOUNT}:log-group:*`] }],
      durationSeconds: 600,
      reason: 'read the logs',
    });
    // Act
    const error = await thrown(() => reviewBreakGlass(env.deps, RITA, requestId, APPROPRIATE));
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'NotAwaitingReview' });
  });

  it('answers NotFound for an unknown request', async () => {
    // Prepare
    const env = setup();
    // Act
    const error = await thrown(() => reviewBreakGlass(env.deps, RITA, 'req-9999', APPROPRIATE));
    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
  });

  it('refuses a second verdict by the same reviewer (409 AlreadyReviewed)', async () => {
    // Prepare
    const env = setup();
    const id = await revokedBreakGlass(env);
    await reviewBreakGlass(env.deps, RITA, id, APPROPRIATE);
    // Act
    const error = await thrown(() =>
      reviewBreakGlass(env.deps, RITA, id, { verdict: 'misuse', notes: 'changed my mind' }),
    );
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'AlreadyReviewed' });
    expect(stored(env, id).breakGlass?.reviews).toHaveLength(1);
  });

  it('refuses a second verdict by the same person through another reviewer role (409 AlreadyReviewed)', async () => {
    // Prepare
    const env = setup();
    const id = await revokedBreakGlass(env);
    await reviewBreakGlass(env.deps, RITA, id, APPROPRIATE);
    // Act
    const error = await thrown(() => reviewBreakGlass(env.deps, RITA_SECURITY, id, APPROPRIATE));
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'AlreadyReviewed' });
    expect(stored(env, id).breakGlass?.reviewed).toBeUndefined();
  });

  it('refuses a third verdict once two reviewers closed the review (409 AlreadyReviewed)', async () => {
    // Prepare
    const env = setup();
    const id = await revokedBreakGlass(env);
    await reviewBreakGlass(env.deps, RITA, id, APPROPRIATE);
    await reviewBreakGlass(env.deps, ROY, id, APPROPRIATE);
    // Act
    const error = await thrown(() => reviewBreakGlass(env.deps, SAM, id, APPROPRIATE));
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'AlreadyReviewed' });
    expect(stored(env, id).breakGlass?.reviews).toHaveLength(2);
  });

  it.each([
    ['an unknown verdict', { verdict: 'fine', notes: 'looked fine to me' }, 'verdict'],
    ['no verdict', { notes: 'looked fine to me' }, 'verdict'],
    ['notes too short', { verdict: 'appropriate', notes: 'ok' }, 'notes'],
    ['blank notes', { verdict: 'appropriate', notes: '      ' }, 'notes'],
    ['notes too long', { verdict: 'appropriate', notes: 'x'.repeat(2001) }, 'notes'],
    ['no notes', { verdict: 'misuse' }, 'notes'],
    ['an unknown field', { ...APPROPRIATE, score: 5 }, 'score'],
  ])('refuses a body with %s (400 %s)', async (_what, body, field) => {
    // Prepare
    const env = setup();
    const id = await revokedBreakGlass(env);
    // Act
    const error = await thrown(() => reviewBreakGlass(env.deps, RITA, id, body));
    // Assess
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.details?.map((d) => d.field)).toEqual([field]);
    expect(stored(env, id).breakGlass?.reviews).toEqual([]);
  });

  it('refuses a body that is not an object (400)', async () => {
    // Prepare
    const env = setup();
    const id = await revokedBreakGlass(env);
    // Act
    const error = await thrown(() => reviewBreakGlass(env.deps, RITA, id, 'appropriate'));
    // Assess
    expect(error).toBeInstanceOf(InvalidRequestError);
  });

  it('records one verdict and leaves the review open until a second reviewer', async () => {
    // Prepare
    const env = setup();
    const id = await revokedBreakGlass(env);
    env.clock.advance(3600);
    // Act
    const out = await reviewBreakGlass(env.deps, RITA, id, APPROPRIATE);
    // Assess
    expect(out).toEqual({
      requestId: id,
      reviewed: false,
      reviews: [{ reviewer: RITA, ...APPROPRIATE, at: '2026-11-22T11:10:00.000Z' }],
    });
    const request = stored(env, id);
    expect(request.status).toBe('REVOKED');
    expect(request.breakGlass?.reviews).toEqual(out.reviews);
    expect(request.breakGlass?.reviewed).toBeUndefined();
    expect(request.breakGlass?.reviewDueBy).toBe('2026-11-23T10:10:00.000Z');
  });

  it('closes the review with two distinct reviewers and records two BREAK_GLASS_REVIEW notes', async () => {
    // Prepare
    const env = setup();
    const id = await revokedBreakGlass(env);
    const before = env.store.eventLog.get(id)?.length ?? 0;
    await reviewBreakGlass(env.deps, RITA, id, APPROPRIATE);
    env.clock.advance(60);
    // Act
    const out = await reviewBreakGlass(env.deps, ROY, id, {
      verdict: 'misuse',
      notes: '  described too broadly; a narrower rule next time  ',
    });
    // Assess
    expect(out.reviewed).toBe(true);
    expect(out.reviews.map((r) => [r.reviewer, r.verdict])).toEqual([
      [RITA, 'appropriate'],
      [ROY, 'misuse'],
    ]);
    expect(out.reviews[1]?.notes).toBe('described too broadly; a narrower rule next time');
    expect(out).not.toHaveProperty('activityReview');
    expect(BREAK_GLASS_REVIEWERS).toBe(2);
    const request = stored(env, id);
    expect(request.breakGlass?.reviewed).toBe(true);
    expect(request.breakGlass?.reviews).toHaveLength(2);
    const notes = (env.store.eventLog.get(id) ?? []).slice(before);
    expect(notes).toHaveLength(2);
    expect(notes.map((e) => [e.from, e.to, e.actor])).toEqual([
      ['REVOKED', 'REVOKED', RITA],
      ['REVOKED', 'REVOKED', ROY],
    ]);
    expect(notes.map((e) => e.details)).toEqual([
      { event: 'BREAK_GLASS_REVIEW', verdict: 'appropriate', notes: APPROPRIATE.notes, reviews: 1 },
      {
        event: 'BREAK_GLASS_REVIEW',
        verdict: 'misuse',
        notes: 'described too broadly; a narrower rule next time',
        reviews: 2,
      },
    ]);
  });

  it('carries the stored audit review pass and hash in the verdict and its note', async () => {
    // Prepare
    const env = setup();
    const id = await revokedBreakGlass(env);
    const review = { pass: 1 as const, hash: 'a'.repeat(64), at: '2026-11-22T10:25:00.000Z' };
    env.store.requests.set(id, { ...stored(env, id), review });
    // Act
    const out = await reviewBreakGlass(env.deps, RITA, id, APPROPRIATE);
    // Assess
    expect(out.activityReview).toEqual({ pass: 1, hash: 'a'.repeat(64) });
    const note = env.store.eventLog.get(id)?.at(-1);
    expect(note?.details).toMatchObject({
      event: 'BREAK_GLASS_REVIEW',
      activityReview: { pass: 1, hash: 'a'.repeat(64) },
    });
  });

  it('moves the follow-up off the review deadline once the review is closed', async () => {
    // Prepare: the audit review's passes are both done, so only the break-glass deadline is left.
    const env = setup();
    const id = await revokedBreakGlass(env);
    const review = { pass: 2 as const, hash: 'b'.repeat(64), at: '2026-11-22T11:10:00.000Z' };
    env.store.requests.set(id, { ...stored(env, id), review });
    await reviewBreakGlass(env.deps, RITA, id, APPROPRIATE);
    const open = stored(env, id).followUpAt;
    // Act
    await reviewBreakGlass(env.deps, ROY, id, APPROPRIATE);
    // Assess
    expect(open).toBe('2026-11-23T10:10:00.000Z');
    expect(stored(env, id).followUpAt).toBeUndefined();
  });
});

describe('breakGlassReviewsDue', () => {
  /**
   * Four revoked break-glass requests (Olga's, Pete's reviewed once by Rita, Alice's closed by two, Pete's
   * untouched), one live one and one ordinary revoked request.
   */
  async function scene() {
    const env = setup();
    const olgas = await revokedBreakGlass(env, OLGA);
    env.clock.advance(60);
    const petesHalf = await revokedBreakGlass(env, PETE);
    await reviewBreakGlass(env.deps, RITA, petesHalf, APPROPRIATE);
    env.clock.advance(60);
    const alicesDone = await revokedBreakGlass(env, ALICE_ONCALL);
    await reviewBreakGlass(env.deps, RITA, alicesDone, APPROPRIATE);
    await reviewBreakGlass(env.deps, ROY, alicesDone, APPROPRIATE);
    env.clock.advance(60);
    const petesOpen = await revokedBreakGlass(env, PETE);
    env.clock.advance(60);
    const live = await grantedBreakGlass(env.deps, OLGA);
    // A live grant never has a follow-up in practice; give it one so only its status keeps it out.
    env.store.requests.set(live, { ...stored(env, live), followUpAt: '2026-11-22T12:00:00.000Z' });
    const { requestId: ordinary } = await submitRequest(env.deps, ALICE, {
      kind: 'policy',
      target: arn.role('ops-logs'),
      permissions: [{ actions: ['logs:GetLogEvents'], resources: [`arn:aws:logs:*:${ACCOUNT}:log-group:*`] }],
      durationSeconds: 600,
      reason: 'read the logs',
    });
    await validateStep(env.deps, ordinary);
    await grantStep(env.deps, ordinary);
    await revokeGrant(env.deps, ordinary, ALICE, 'done');
    return { env, olgas, petesHalf, alicesDone, petesOpen, live, ordinary };
  }

  it('lists the revoked, unreviewed break-glass requests the caller has not reviewed, oldest first', async () => {
    // Prepare
    const { env, olgas, petesHalf, petesOpen } = await scene();
    // Act
    const due = await breakGlassReviewsDue(env.deps, ROY);
    // Assess
    expect(due.map((r) => r.id)).toEqual([olgas, petesHalf, petesOpen]);
    expect(due.every((r) => r.status === 'REVOKED')).toBe(true);
  });

  it('leaves out what the caller has already reviewed', async () => {
    // Prepare
    const { env, olgas, petesOpen } = await scene();
    // Act
    const due = await breakGlassReviewsDue(env.deps, RITA);
    // Assess
    expect(due.map((r) => r.id)).toEqual([olgas, petesOpen]);
  });

  it('leaves out what the caller reviewed through another principal of theirs', async () => {
    // Prepare
    const { env, olgas, petesOpen } = await scene();
    // Act
    const due = await breakGlassReviewsDue(env.deps, RITA_SECURITY);
    // Assess
    expect(due.map((r) => r.id)).toEqual([olgas, petesOpen]);
  });

  it("leaves out the caller's own break-glass requests", async () => {
    // Prepare
    const { env, petesHalf, petesOpen } = await scene();
    // Act
    const due = await breakGlassReviewsDue(env.deps, OLGA);
    // Assess
    expect(due.map((r) => r.id)).toEqual([petesHalf, petesOpen]);
  });

  it('answers an empty list to a caller who is not a reviewer', async () => {
    // Prepare
    const { env } = await scene();
    // Act
    const due = await breakGlassReviewsDue(env.deps, PETE);
    // Assess
    expect(due).toEqual([]);
  });

  it('shows the requests in their public form, with the break-glass state', async () => {
    // Prepare
    const { env, petesHalf } = await scene();
    // Act
    const due = await breakGlassReviewsDue(env.deps, ROY);
    // Assess
    const half = due.find((r) => r.id === petesHalf);
    expect(half?.breakGlass?.incident).toBe('INC-7');
    expect(half?.breakGlass?.reviews.map((r) => r.reviewer)).toEqual([RITA]);
    expect(half).not.toHaveProperty('lastHash');
  });
});

describe('follow-ups: an overdue break-glass review', () => {
  it('alarms, alerts once and stays overdue on every run, even while CloudTrail cannot be read', async () => {
    // Prepare: a revoked break-glass grant whose CloudTrail source keeps failing
    const env = setup();
    const alerts: BrokerAlert[] = [];
    const deps: Deps = {
      ...env.deps,
      alerts: { publish: async (a) => void alerts.push(a) },
      activity: {
        find: async () => ({
          events: [],
          sources: [
            { name: 'cloudtrail:x', eventClasses: ['management'], calls: 9, events: 0, error: 'Throttled' },
          ],
        }),
      },
    };
    const id = await revokedBreakGlass({ ...env, deps });
    env.clock.advance(25 * 3600);
    // Act
    const first = await runFollowUps(deps);
    const second = await runFollowUps(deps);
    // Assess
    expect(first.overdue).toBe(1);
    expect(second.overdue).toBe(1);
    expect(first.outcomes[0]).toMatchObject({ requestId: id, incomplete: true, newlyOverdue: true });
    expect(second.outcomes[0]).toMatchObject({ requestId: id, newlyOverdue: false });
    expect(alerts.filter((a) => a.fields.type === 'break-glass-review-overdue')).toHaveLength(1);
    expect(stored(env, id).breakGlass?.overdueAt).toBeDefined();
  });
});

describe('break-glass announcement: noted, and sent again when the grant step could not', () => {
  it('notes BREAK_GLASS_ANNOUNCED when the alert topic takes it', async () => {
    // Prepare
    const env = setup();
    const alerts: BrokerAlert[] = [];
    const deps: Deps = { ...env.deps, alerts: { publish: async (a) => void alerts.push(a) } };
    // Act
    const id = await grantedBreakGlass(deps);
    // Assess
    const notes = (await env.store.events(id)).filter((e) => e.details?.event === 'BREAK_GLASS_ANNOUNCED');
    expect(alerts).toHaveLength(1);
    expect(notes).toHaveLength(1);
    expect(stored(env, id).breakGlass?.announcedAt).toBe(env.clock.now().toISOString());
    expect(stored(env, id).followUpAt).toBeUndefined();
  });

  it('sends it again from the review job when the topic refused it twice at grant', async () => {
    // Prepare: the topic is down during the grant, back up for the next review run
    const env = setup();
    let down = true;
    const alerts: BrokerAlert[] = [];
    const deps: Deps = {
      ...env.deps,
      alerts: {
        publish: async (a) => {
          if (down) throw new Error('sns: 503');
          alerts.push(a);
        },
      },
    };
    const id = await grantedBreakGlass(deps);
    const afterGrant = stored(env, id);
    // Act
    down = false;
    env.clock.advance(60);
    const run = await runFollowUps(deps);
    const again = await runFollowUps(deps);
    // Assess
    expect(afterGrant.breakGlass?.announcedAt).toBeUndefined();
    expect(afterGrant.followUpAt).toBeDefined();
    expect(run.outcomes).toEqual([expect.objectContaining({ requestId: id, reannounced: true })]);
    expect(alerts.filter((a) => a.fields.type === 'break-glass-granted')).toHaveLength(1);
    expect(again.outcomes).toEqual([]);
    const events = (await env.store.events(id)).map((e) => e.details?.event).filter(Boolean);
    expect(events).toEqual(expect.arrayContaining(['BREAK_GLASS_ANNOUNCE_FAILED', 'BREAK_GLASS_ANNOUNCED']));
    expect(stored(env, id).status).toBe('GRANTED');
  });
});
