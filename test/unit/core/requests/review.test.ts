import { describe, expect, it } from 'vitest';
import type { ActivityEvent, ActivityQuery, SourceReport } from '#core/audit/activity.ts';
import { verifyChain } from '#core/audit/chain.ts';
import { hashReview } from '#core/audit/review.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '#core/errors.ts';
import type { AccessRequest } from '#core/model.ts';
import type { Deps } from '#core/ports.ts';
import { decide, submitRequest } from '#core/requests/requests.ts';
import { followUp, getReview, listRequests, runFollowUps } from '#core/requests/review.ts';
import { grantStep, revokeGrant, validateStep } from '#core/workflow/steps.ts';
import {
  ALICE,
  BOB,
  CAROL,
  fakeDeps,
  grantedRequest,
  MALLORY,
  pendingRequest,
} from '../../../support/fakes.ts';
import {
  ATHENA,
  AUDITOR,
  BG_REVIEWER,
  CREDENTIALS_BODY,
  DAVE,
  INLINE_BODY,
  inlineRecords,
  LOOKUP,
  reviewConfig,
} from '../audit/review-fixture.ts';

/** Fake deps with a fake Activity whose answer the test changes; it keeps the queries it was asked. */
function withActivity(events: readonly ActivityEvent[] = inlineRecords().map((r) => r.event)) {
  const env = fakeDeps(reviewConfig());
  const answer: { events: readonly ActivityEvent[]; sources: readonly SourceReport[] } = {
    events,
    sources: [LOOKUP, ATHENA],
  };
  const queries: ActivityQuery[] = [];
  const deps: Deps = {
    ...env.deps,
    activity: {
      find: async (query) => {
        queries.push(query);
        return { events: answer.events, sources: answer.sources };
      },
    },
  };
  return { ...env, deps, answer, queries };
}

/** The inline fixture grant (10:00, 900 s), revoked early at 10:10 by its requester. */
async function revokedInline(env: ReturnType<typeof withActivity>): Promise<string> {
  const id = await grantedRequest(env.deps, INLINE_BODY);
  env.clock.advance(600);
  await revokeGrant(env.deps, id, ALICE, 'done');
  return id;
}

/** Moves the clock to `hms` on 2026-11-22. */
function setClock(env: ReturnType<typeof withActivity>, hms: string): void {
  env.clock.advance((Date.parse(`2026-11-22T${hms}Z`) - env.clock.now().getTime()) / 1000);
}

/** Runs `act` and returns what it threw (fails the test when it does not throw). */
async function thrown(act: () => Promise<unknown>): Promise<unknown> {
  try {
    await act();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

const reviewedNotes = async (env: ReturnType<typeof withActivity>, id: string) =>
  (await env.store.events(id)).filter((e) => e.details?.event === 'REVIEWED');

describe('getReview: who may read', () => {
  it.each([
    ['the requester', ALICE],
    ['the approver who approved', BOB],
    ['another approver of the rule', CAROL],
    ['an auditor', AUDITOR],
  ])('lets %s read the review', async (_who, caller) => {
    // Prepare
    const env = withActivity();
    const id = await revokedInline(env);
    // Act
    const review = await getReview(env.deps, caller, id);
    // Assess
    expect(review).toMatchObject({ requestId: id, provisional: true, pass: 0 });
    expect(review.used.map((u) => u.calls)).toEqual([3, 1, 1, 1]);
  });

  it.each([
    ['a stranger', MALLORY],
    ['another requester of the same rule', DAVE],
    ['a break-glass reviewer, on a request that is not break-glass', BG_REVIEWER],
  ])('refuses %s', async (_who, caller) => {
    // Prepare
    const env = withActivity();
    const id = await revokedInline(env);
    // Act
    const error = await thrown(() => getReview(env.deps, caller, id));
    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(env.queries).toHaveLength(0);
  });

  it('lets a break-glass reviewer read a break-glass request', async () => {
    // Prepare: the same request, marked break-glass in the store.
    const env = withActivity();
    const id = await revokedInline(env);
    const stored = env.store.requests.get(id) as AccessRequest;
    env.store.requests.set(id, { ...stored, breakGlass: { incident: 'INC-7', reviews: [] } });
    // Act
    const review = await getReview(env.deps, BG_REVIEWER, id);
    // Assess
    expect(review.requestId).toBe(id);
  });

  it('answers NotFound for an unknown request', async () => {
    // Prepare
    const env = withActivity();
    // Act
    const error = await thrown(() => getReview(env.deps, AUDITOR, 'req-9999'));
    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
  });

  it('answers 409 NotGranted for a request that was never granted', async () => {
    // Prepare
    const env = withActivity();
    const id = await pendingRequest(env.deps, { body: INLINE_BODY });
    // Act
    const error = await thrown(() => getReview(env.deps, ALICE, id));
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'NotGranted' });
    expect(env.queries).toHaveLength(0);
  });
});

describe('getReview: on demand', () => {
  it('computes a provisional review of a live grant up to now, without storing it', async () => {
    // Prepare
    const env = withActivity();
    const id = await grantedRequest(env.deps, INLINE_BODY);
    setClock(env, '10:06:00');
    // Act
    const review = await getReview(env.deps, ALICE, id);
    // Assess
    expect(review).toMatchObject({
      provisional: true,
      pass: 0,
      status: 'GRANTED',
      generatedAt: '2026-11-22T10:06:00.000Z',
      window: { grantedAt: '2026-11-22T10:00:00.000Z', usableUntil: '2026-11-22T10:06:00.000Z' },
      visibility: { eventClasses: ['management', 'data'], incomplete: false },
    });
    expect(review.window.revokedAt).toBeUndefined();
    expect(review.hash).toBeUndefined();
    expect(review.calls.map((c) => c.eventId)).toEqual([
      'i-refused-put',
      'i-q3-1',
      'i-q3-2',
      'i-q4',
      'i-location',
      'i-describe',
    ]);
    expect(env.queries).toEqual([
      expect.objectContaining({
        requestId: id,
        start: '2026-11-22T10:00:00.000Z',
        end: '2026-11-22T10:21:00.000Z',
      }),
    ]);
    expect(env.store.reviews.size).toBe(0);
    expect((await env.store.get(id))?.firstUsedAt).toBeUndefined();
  });
});

describe('followUp and runFollowUps', () => {
  it('schedules the first pass at revoke + the delivery delay and does nothing before', async () => {
    // Prepare
    const env = withActivity();
    const id = await revokedInline(env);
    setClock(env, '10:24:59');
    // Act
    const run = await runFollowUps(env.deps);
    const direct = await followUp(env.deps, id);
    // Assess
    expect((await env.store.get(id))?.followUpAt).toBe('2026-11-22T10:25:00.000Z');
    expect(run).toEqual({ outcomes: [], overdue: 0 });
    expect(direct).toEqual({ requestId: id });
    expect(env.store.reviews.size).toBe(0);
    expect(await reviewedNotes(env, id)).toHaveLength(0);
  });

  it('does nothing for a grant that is not revoked yet', async () => {
    // Prepare
    const env = withActivity();
    const id = await grantedRequest(env.deps, INLINE_BODY);
    setClock(env, '10:14:00');
    // Act
    const outcome = await followUp(env.deps, id);
    // Assess
    expect(outcome).toEqual({ requestId: id });
    expect(env.store.reviews.size).toBe(0);
  });

  it('stores pass 1 at revoke + 15 min with a REVIEWED note carrying its hash', async () => {
    // Prepare
    const env = withActivity();
    const id = await revokedInline(env);
    setClock(env, '10:25:00');
    // Act
    const run = await runFollowUps(env.deps);
    // Assess
    expect(run).toEqual({ outcomes: [{ requestId: id, reviewed: 1 }], overdue: 0 });
    const stored = env.store.reviews.get(id);
    expect(stored).toMatchObject({ pass: 1, provisional: false, generatedAt: '2026-11-22T10:25:00.000Z' });
    expect(stored?.hash).toBe(hashReview(stored as NonNullable<typeof stored>));
    const notes = await reviewedNotes(env, id);
    expect(notes.map((n) => n.details)).toEqual([
      {
        event: 'REVIEWED',
        pass: 1,
        hash: stored?.hash,
        calls: 6,
        refused: 3,
        unusedShare: 0.4,
        incomplete: false,
      },
    ]);
    const request = await env.store.get(id);
    expect(request).toMatchObject({
      status: 'REVOKED',
      review: { pass: 1, hash: stored?.hash, at: '2026-11-22T10:25:00.000Z' },
      followUpAt: '2026-11-22T11:10:00.000Z',
    });
    expect(await getReview(env.deps, ALICE, id)).toEqual(stored);
  });

  it('stores pass 2 at revoke + 60 min and then has nothing left to do', async () => {
    // Prepare
    const env = withActivity();
    const id = await revokedInline(env);
    setClock(env, '10:25:00');
    await runFollowUps(env.deps);
    setClock(env, '11:09:59');
    const early = await runFollowUps(env.deps);
    setClock(env, '11:10:00');
    // Act
    const run = await runFollowUps(env.deps);
    // Assess
    expect(early.outcomes).toEqual([]);
    expect(run.outcomes).toEqual([{ requestId: id, reviewed: 2 }]);
    const stored = env.store.reviews.get(id);
    expect(stored).toMatchObject({ pass: 2, provisional: false, generatedAt: '2026-11-22T11:10:00.000Z' });
    expect((await reviewedNotes(env, id)).map((n) => [n.details?.pass, n.details?.hash])).toEqual([
      [1, expect.any(String)],
      [2, stored?.hash],
    ]);
    const request = await env.store.get(id);
    expect(request?.followUpAt).toBeUndefined();
    expect(request?.review).toEqual({ pass: 2, hash: stored?.hash, at: '2026-11-22T11:10:00.000Z' });
    expect(await env.store.findFollowUps('2100-01-01T00:00:00.000Z', 50)).toEqual([]);
    env.clock.advance(86_400);
    expect((await runFollowUps(env.deps)).outcomes).toEqual([]);
    expect(verifyChain(await env.store.events(id), request)).toEqual({ ok: true });
  });

  it('keeps pass 1 provisional while a source fails, and stores it at the next run', async () => {
    // Prepare
    const env = withActivity();
    const id = await revokedInline(env);
    env.answer.sources = [LOOKUP, { ...ATHENA, error: 'Athena query FAILED' }];
    setClock(env, '10:25:00');
    // Act
    const failed = await runFollowUps(env.deps);
    const meanwhile = await getReview(env.deps, AUDITOR, id);
    env.answer.sources = [LOOKUP, ATHENA];
    env.clock.advance(300);
    const retried = await runFollowUps(env.deps);
    // Assess
    expect(failed.outcomes).toEqual([{ requestId: id, incomplete: true }]);
    expect(meanwhile).toMatchObject({ provisional: true, pass: 0, visibility: { incomplete: true } });
    expect(retried.outcomes).toEqual([{ requestId: id, reviewed: 1 }]);
    expect(env.store.reviews.get(id)).toMatchObject({ pass: 1, visibility: { incomplete: false } });
    expect(await reviewedNotes(env, id)).toHaveLength(1);
  });

  it('records FIRST_USED of an inline grant from the review, once', async () => {
    // Prepare
    const env = withActivity();
    const id = await revokedInline(env);
    setClock(env, '10:25:00');
    await runFollowUps(env.deps);
    setClock(env, '11:10:00');
    // Act
    await runFollowUps(env.deps);
    // Assess
    const request = await env.store.get(id);
    expect(request).toMatchObject({ firstUsedAt: '2026-11-22T10:00:30Z', firstUsedFrom: '198.51.100.7' });
    const notes = (await env.store.events(id)).filter((e) => e.details?.event === 'FIRST_USED');
    expect(notes.map((n) => n.details)).toEqual([
      expect.objectContaining({ via: 'review', eventId: 'i-q3-1', action: 's3:GetObject' }),
    ]);
  });

  it('waits for a credentials session to expire before the first pass', async () => {
    // Prepare: 600 s asked, STS issues 900 s; revoked at 10:05, the credentials last until 10:15.
    const env = withActivity([]);
    const { requestId: id } = await submitRequest(env.deps, ALICE, CREDENTIALS_BODY);
    await validateStep(env.deps, id);
    await grantStep(env.deps, id);
    setClock(env, '10:05:00');
    await revokeGrant(env.deps, id, ALICE, 'done');
    setClock(env, '10:20:00');
    // Act
    const early = await runFollowUps(env.deps);
    setClock(env, '10:30:00');
    const due = await runFollowUps(env.deps);
    // Assess
    expect(early.outcomes).toEqual([]);
    expect(due.outcomes).toEqual([{ requestId: id, reviewed: 1 }]);
    expect(env.store.reviews.get(id)?.window).toMatchObject({
      revokedAt: '2026-11-22T10:05:00.000Z',
      usableUntil: '2026-11-22T10:15:00.000Z',
    });
    expect((await env.store.get(id))?.followUpAt).toBe('2026-11-22T11:15:00.000Z');
  });
});

describe('listRequests', () => {
  /** ALICE's and DAVE's granted requests, and ALICE's pending one. */
  async function twoRequesters() {
    const env = withActivity();
    const alice = await grantedRequest(env.deps, INLINE_BODY);
    const dave = await pendingRequest(env.deps, { caller: DAVE, body: INLINE_BODY });
    await decide(env.deps, BOB, dave, 'approve');
    await grantStep(env.deps, dave);
    const alicePending = await pendingRequest(env.deps, { body: INLINE_BODY });
    return { env, alice, dave, alicePending };
  }

  it("shows an auditor every requester's requests under a filter", async () => {
    // Prepare
    const { env, alice, dave } = await twoRequesters();
    // Act
    const page = await listRequests(env.deps, AUDITOR, { limit: 50, status: 'GRANTED' });
    // Assess
    expect(page.items.map((r) => r.id).sort()).toEqual([alice, dave].sort());
  });

  it('shows anyone else only their own requests under the same filter', async () => {
    // Prepare
    const { env, alice } = await twoRequesters();
    // Act
    const page = await listRequests(env.deps, ALICE, { limit: 50, status: 'GRANTED' });
    // Assess
    expect(page.items.map((r) => r.id)).toEqual([alice]);
  });

  it('shows the caller their own requests without a filter, auditors included', async () => {
    // Prepare
    const { env, alice, alicePending, dave } = await twoRequesters();
    // Act
    const mine = await listRequests(env.deps, ALICE, { limit: 50 });
    const davesOwn = await listRequests(env.deps, DAVE, { limit: 50 });
    const auditorsOwn = await listRequests(env.deps, AUDITOR, { limit: 50 });
    // Assess
    expect(mine.items.map((r) => r.id).sort()).toEqual([alice, alicePending].sort());
    expect(davesOwn.items.map((r) => r.id)).toEqual([dave]);
    expect(auditorsOwn.items).toEqual([]);
  });

  it('narrows an auditor listing by rule and since', async () => {
    // Prepare
    const { env } = await twoRequesters();
    // Act
    const otherRule = await listRequests(env.deps, AUDITOR, { limit: 50, rule: 'logs-auto' });
    const future = await listRequests(env.deps, AUDITOR, { limit: 50, since: '2026-11-23T00:00:00.000Z' });
    const all = await listRequests(env.deps, AUDITOR, { limit: 50, rule: 'app-read' });
    // Assess
    expect(otherRule.items).toEqual([]);
    expect(future.items).toEqual([]);
    expect(all.items).toHaveLength(3);
  });
});

describe('read budget', () => {
  it('gives an on-demand review 20 s of reading, and a stored pass no limit', async () => {
    // Prepare
    const env = withActivity();
    const id = await revokedInline(env);
    // Act
    await getReview(env.deps, ALICE, id);
    const onDemand = env.queries.at(-1);
    const asked = env.clock.now().getTime();
    setClock(env, '10:30:00');
    await followUp(env.deps, id);
    const stored = env.queries.at(-1);
    // Assess
    expect(onDemand?.readBy).toBe(new Date(asked + 20_000).toISOString());
    expect(stored).toBeDefined();
    expect(stored?.readBy).toBeUndefined();
  });
});
