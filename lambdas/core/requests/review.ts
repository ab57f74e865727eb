/**
 * The audit review's use cases: who may read requests and reviews, `GET /requests/{id}/review` (on demand
 * and provisional until the final review is stored), the scheduled passes that store it (revoke + 15 and
 * + 60 minutes, or later for credentials whose sessions outlive the revoke), and the auditors' listing.
 */
import type { ActivityEvent } from '../audit/activity.ts';
import { recordFirstUse } from '../audit/first-use.ts';
import {
  activityQuery,
  buildReview,
  hashReview,
  matchRecord,
  nextFollowUp,
  type ReviewWindow,
  reviewPassTimes,
  reviewWindow,
} from '../audit/review.ts';
import type { ActivityReview } from '../audit/review-report.ts';
import { load, move } from '../audit/transition.ts';
import { ConflictError, ForbiddenError, TransitionRefusedError } from '../errors.ts';
import type { Status } from '../lifecycle.ts';
import type { AccessRequest, AuditEvent } from '../model.ts';
import type { Deps, RequestPage } from '../ports.ts';
import { isAuditor, mayRead } from './access.ts';
import { overdueAlert, reannounce } from './break-glass.ts';

/** How long an on-demand review reads CloudTrail (API Gateway ends a call at 29 s). */
export const ON_DEMAND_READ_SECONDS = 20;

/** The review of a grant from what the sources say now. */
async function computeReview(
  deps: Pick<Deps, 'config' | 'activity' | 'clock'>,
  request: AccessRequest,
  events: readonly AuditEvent[],
  window: ReviewWindow,
  pass: 0 | 1 | 2,
): Promise<{ review: ActivityReview; firstUse?: ActivityEvent }> {
  // On demand, the API must answer within API Gateway's 29 s: the sources read for ON_DEMAND_READ_SECONDS
  // and say where they stopped. The stored passes read everything.
  const readBy =
    pass === 0
      ? new Date(deps.clock.now().getTime() + ON_DEMAND_READ_SECONDS * 1000).toISOString()
      : undefined;
  const query = { ...activityQuery(request, window), ...(readBy ? { readBy } : {}) };
  const activity = deps.activity ? await deps.activity.find(query) : { events: [], sources: [] };
  const review = buildReview({ request, events, window, activity, now: deps.clock.now(), pass });
  const firstUse = review.firstUse
    ? activity.events.find((e) => e.eventId === review.firstUse?.eventId && matchRecord(request, window, e))
    : undefined;
  return { review, ...(firstUse ? { firstUse } : {}) };
}

/**
 * `GET /requests/{id}/review`: the stored final review when there is one, else the review computed now
 * (`provisional: true`). 409 NotGranted for a request that was never granted.
 */
export async function getReview(deps: Deps, caller: string, id: string): Promise<ActivityReview> {
  const request = await load(deps, id);
  if (!mayRead(deps.config, request, caller)) {
    throw new ForbiddenError(
      'only the requester, the approvers of its rule and the auditors may read its review',
    );
  }
  const stored = await deps.store.getReview(id);
  if (stored) return stored;
  const events = await deps.store.events(id);
  const window = reviewWindow(request, events, deps.config.audit.deliveryDelaySeconds, deps.clock.now());
  if (!window) throw new ConflictError('NotGranted', `request is ${request.status}; it was never granted`);
  return (await computeReview(deps, request, events, window, 0)).review;
}

/** What one scheduled pass did to one request. */
export interface FollowUpOutcome {
  readonly requestId: string;
  /** The review pass stored (1 or 2), if one ran. */
  readonly reviewed?: 1 | 2;
  /** True when a source failed during the pass (the review says which; the pass is retried next run). */
  readonly incomplete?: boolean;
  /** True when the request's break-glass review is overdue (the alarm counts these). */
  readonly breakGlassOverdue?: boolean;
  /** The overdue state was first noticed in this run (the alert goes out once). */
  readonly newlyOverdue?: boolean;
  /** A break-glass announcement the grant step could not send was sent again (true) or failed again. */
  readonly reannounced?: boolean;
  readonly error?: string;
}

/**
 * One scheduled pass over a request whose follow-up is due: stores the review pass that is due (with a
 * `REVIEWED` note carrying its hash and the next follow-up, and `FIRST_USED` when the review found the first
 * use), and notes an overdue break-glass review once. A request that is not REVOKED yet waits.
 */
export async function followUp(deps: Deps, id: string): Promise<FollowUpOutcome> {
  const now = deps.clock.now().toISOString();
  let request = await load(deps, id);
  const events = await deps.store.events(id);
  const window = reviewWindow(request, events, deps.config.audit.deliveryDelaySeconds, deps.clock.now());
  let outcome: FollowUpOutcome = { requestId: id };
  if (request.breakGlass && request.breakGlass.announcedAt === undefined && window) {
    // The grant step could not announce it: send it again (noted either way; a failure stays due).
    const failures = await reannounce(deps, request);
    outcome = { ...outcome, reannounced: failures.length === 0 };
    request = await load(deps, id);
  }
  if (!window || request.status !== 'REVOKED') return outcome;
  const times = reviewPassTimes(deps.config, window.usableUntil);
  const pass = request.review?.pass ?? 0;
  const due = pass === 0 && times.first <= now ? 1 : pass === 1 && times.second <= now ? 2 : undefined;
  if (due) outcome = { ...outcome, ...(await storePass(deps, request, events, window, due)) };
  request = await load(deps, id);
  const bg = request.breakGlass;
  if (bg && !bg.reviewed && bg.reviewDueBy && bg.reviewDueBy <= now) {
    const newly = bg.overdueAt === undefined;
    if (newly) {
      request = await noteOverdue(deps, id);
      await deps.alerts?.publish(overdueAlert(request));
    }
    outcome = { ...outcome, breakGlassOverdue: true, newlyOverdue: newly };
  }
  return outcome;
}

/**
 * Computes and stores one review pass. A first pass whose source failed is not stored (the review stays
 * provisional and the pass runs again next time); the second is stored either way, saying it is incomplete.
 */
async function storePass(
  deps: Deps,
  request: AccessRequest,
  events: readonly AuditEvent[],
  window: ReviewWindow,
  due: 1 | 2,
): Promise<FollowUpOutcome> {
  const id = request.id;
  const { review, firstUse } = await computeReview(deps, request, events, window, due);
  if (firstUse && request.firstUsedAt === undefined) await recordFirstUse(deps, firstUse, id);
  if (review.visibility.incomplete && deps.activity !== undefined && due === 1) {
    return { requestId: id, incomplete: true };
  }
  const hash = hashReview(review);
  // The note first: its version check lets one of two overlapping runs store the pass, and only that one
  // writes the review its hash names.
  const noted = await noteReviewed(deps, id, due, hash, review, window.usableUntil);
  if (noted.review?.hash !== hash) return { requestId: id };
  await deps.store.putReview(id, { ...review, hash });
  return { requestId: id, reviewed: due, ...(review.visibility.incomplete ? { incomplete: true } : {}) };
}

/**
 * Appends the `REVIEWED` note (pass, hash, headline figures) and records the pass on the item, with the
 * next follow-up (the second pass, a break-glass deadline, or none).
 */
async function noteReviewed(
  deps: Deps,
  id: string,
  pass: 1 | 2,
  hash: string,
  review: ActivityReview,
  usableUntil: string,
): Promise<AccessRequest> {
  return retryOnRefusal(deps, id, async (request) => {
    // Another run stored this pass first (runs may overlap): one REVIEWED note per pass.
    if ((request.review?.pass ?? 0) >= pass) return request;
    const reviewed = { pass, hash, at: deps.clock.now().toISOString() };
    return move(
      deps,
      request,
      request.status,
      'system:review',
      {
        event: 'REVIEWED',
        pass,
        hash,
        calls: review.used.reduce((n, u) => n + u.calls, 0),
        refused: review.refused.length,
        unusedShare: review.unused.share,
        incomplete: review.visibility.incomplete,
      },
      {
        review: reviewed,
        followUpAt: nextFollowUp(deps.config, { ...request, review: reviewed }, usableUntil),
      },
    );
  });
}

/** Appends the `BREAK_GLASS_REVIEW_OVERDUE` note once and marks the request overdue. */
async function noteOverdue(deps: Deps, id: string): Promise<AccessRequest> {
  return retryOnRefusal(deps, id, async (request) => {
    const bg = request.breakGlass;
    if (!bg || bg.overdueAt !== undefined) return request;
    const at = deps.clock.now().toISOString();
    return move(
      deps,
      request,
      request.status,
      'system:review',
      { event: 'BREAK_GLASS_REVIEW_OVERDUE', reviews: bg.reviews.length, dueBy: bg.reviewDueBy },
      { breakGlass: { ...bg, overdueAt: at } },
    );
  });
}

/** Runs `write` on a fresh read, again when a concurrent writer got there first. */
async function retryOnRefusal(
  deps: Deps,
  id: string,
  write: (request: AccessRequest) => Promise<AccessRequest>,
): Promise<AccessRequest> {
  for (let attempt = 1; ; attempt++) {
    const request = await load(deps, id);
    try {
      return await write(request);
    } catch (error) {
      if (!(error instanceof TransitionRefusedError) || attempt >= 5) throw error;
    }
  }
}

/** What a run of the review job did. */
export interface FollowUpRun {
  readonly outcomes: readonly FollowUpOutcome[];
  /** Break-glass requests whose reviews are overdue (the alarm's metric). */
  readonly overdue: number;
}

/** The scheduled review job: every request whose follow-up is due, one at a time (CloudTrail is paced). */
export async function runFollowUps(deps: Deps, limit = 50): Promise<FollowUpRun> {
  const due = await deps.store.findFollowUps(deps.clock.now().toISOString(), limit);
  const outcomes: FollowUpOutcome[] = [];
  for (const request of due) {
    try {
      outcomes.push(await followUp(deps, request.id));
    } catch (error) {
      outcomes.push({ requestId: request.id, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return { outcomes, overdue: outcomes.filter((o) => o.breakGlassOverdue).length };
}

/** `GET /requests` query, parsed. */
export interface ListQuery {
  readonly limit: number;
  readonly next?: string;
  readonly status?: Status;
  readonly since?: string;
  readonly rule?: string;
}

/** How far back the auditors' listing goes when `since` is not given. */
const DEFAULT_LISTING_DAYS = 30;

/**
 * `GET /requests`: the caller's own requests, newest first; with a filter (`status`, `since`, `rule`) an
 * auditor lists every requester's, anyone else their own narrowed to it.
 */
export async function listRequests(deps: Deps, caller: string, query: ListQuery): Promise<RequestPage> {
  const filtered = query.status !== undefined || query.since !== undefined || query.rule !== undefined;
  if (filtered && isAuditor(deps.config, caller)) {
    const now = deps.clock.now();
    const since = query.since ?? new Date(now.getTime() - DEFAULT_LISTING_DAYS * 86_400_000).toISOString();
    return deps.store.listAll(
      {
        since,
        until: now.toISOString(),
        ...(query.status ? { status: query.status } : {}),
        ...(query.rule ? { ruleId: query.rule } : {}),
      },
      query.limit,
      query.next,
    );
  }
  const page = await deps.store.listByRequester(caller, query.limit, query.next);
  if (!filtered) return page;
  const items = page.items.filter(
    (r) =>
      (!query.status || r.status === query.status) &&
      (!query.since || r.createdAt >= query.since) &&
      (!query.rule || r.ruleId === query.rule),
  );
  return page.next ? { items, next: page.next } : { items };
}
