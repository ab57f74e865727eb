/**
 * Break-glass: granted at once with no approval step, announced at once, and reviewed afterwards by two
 * distinct reviewers (never the requester). A review overdue suspends the requester's break-glass until the
 * reviews are done. The lifecycle stays the same (REQUESTED → APPROVED → GRANTED → REVOKED); the reviews
 * are notes on REVOKED (`BREAK_GLASS_REVIEW`), the state on the item's `breakGlass` field.
 */
import * as z from 'zod/mini';
import { nextFollowUp, reviewWindow } from '../audit/review.ts';
import { load, move } from '../audit/transition.ts';
import { ConflictError, ForbiddenError, InvalidRequestError, TransitionRefusedError } from '../errors.ts';
import { HOLDS_GRANT, IN_FLIGHT } from '../lifecycle.ts';
import type { AccessRequest, BreakGlassReview, PublicRequest } from '../model.ts';
import { toPublic } from '../model.ts';
import { samePerson } from '../policy/people.ts';
import type { BrokerAlert, Deps } from '../ports.ts';
import { parseWith } from '../schema.ts';
import { isBreakGlassReviewer } from './access.ts';

/** How many requests the checks below read at most (held grants, in-flight requests, follow-ups). */
const SCAN_LIMIT = 1000;
/** Two distinct reviewers close a break-glass review. */
export const BREAK_GLASS_REVIEWERS = 2;
const FAR_FUTURE = '9999-12-31T23:59:59Z';

/**
 * Before a break-glass request is recorded: the person has no other break-glass request in flight or
 * holding a grant, and no break-glass review of theirs is overdue (suspended until it is done).
 */
export async function assertBreakGlassAllowed(
  deps: Pick<Deps, 'store' | 'config'>,
  caller: string,
): Promise<void> {
  const mine = (r: AccessRequest) =>
    r.breakGlass !== undefined && samePerson(deps.config, r.requester, caller);
  const [held, inFlight] = await Promise.all([
    deps.store.findExpiredGrants(FAR_FUTURE, SCAN_LIMIT),
    deps.store.findInFlight(FAR_FUTURE, SCAN_LIMIT),
  ]);
  const active = [...held, ...inFlight].find(
    (r) => mine(r) && (HOLDS_GRANT.includes(r.status) || IN_FLIGHT.includes(r.status)),
  );
  if (active) {
    throw new ConflictError(
      'BreakGlassActive',
      `you already hold break-glass request ${active.id} (${active.status}): one at a time`,
      [{ field: 'incident', message: `break-glass request ${active.id} is still active` }],
    );
  }
  const followUps = await deps.store.findFollowUps(FAR_FUTURE, SCAN_LIMIT);
  const overdue = followUps.find(
    (r) => mine(r) && r.breakGlass?.overdueAt !== undefined && !r.breakGlass.reviewed,
  );
  if (overdue) {
    throw new ForbiddenError(
      `break-glass is suspended for you: the review of ${overdue.id} is overdue (two reviewers must close it)`,
      [{ field: 'incident', message: `the review of break-glass request ${overdue.id} is overdue` }],
    );
  }
}

/** The alert of a break-glass grant: who, what, where, why and until when. */
export function breakGlassAlert(request: AccessRequest): BrokerAlert {
  const what = request.permissions
    .map((p) => `${p.actions.join(', ')} on ${p.resources.join(', ')}`)
    .join('; ');
  return {
    subject: `BREAK-GLASS granted: ${request.breakGlass?.incident ?? ''} ${request.requester.split('/').at(-1) ?? ''}`,
    text: [
      `Break-glass access was granted with no approval (request ${request.id}).`,
      `Who: ${request.requester}`,
      `What: ${what}`,
      `Where: ${request.target}`,
      `Why: ${request.breakGlass?.incident ?? ''} (${request.reasonCode ?? ''}): ${request.reason}`,
      `Until: ${request.expiresAt ?? 'its expiry'}`,
      'It will be reviewed after revoke by two reviewers: jit review <id> --verdict appropriate|misuse.',
    ].join('\n'),
    fields: {
      type: 'break-glass-granted',
      requestId: request.id,
      requester: request.requester,
      target: request.target,
      permissions: request.permissions,
      incident: request.breakGlass?.incident,
      reasonCode: request.reasonCode,
      reason: request.reason,
      expiresAt: request.expiresAt,
    },
  };
}

/** The alert of a break-glass review gone overdue (the requester's break-glass is now suspended). */
export function overdueAlert(request: AccessRequest): BrokerAlert {
  return {
    subject: `BREAK-GLASS review overdue: ${request.id}`,
    text: [
      `The review of break-glass request ${request.id} is overdue (due ${request.breakGlass?.reviewDueBy ?? ''}).`,
      `Requester: ${request.requester} — break-glass is suspended for them until two reviewers close it.`,
      `Reviews so far: ${request.breakGlass?.reviews.length ?? 0} of ${BREAK_GLASS_REVIEWERS}.`,
    ].join('\n'),
    fields: {
      type: 'break-glass-review-overdue',
      requestId: request.id,
      requester: request.requester,
      reviewDueBy: request.breakGlass?.reviewDueBy,
      reviews: request.breakGlass?.reviews.length ?? 0,
    },
  };
}

/**
 * Tells everyone at once, after the grant: the SNS topic and, with Slack, the security channel (a card
 * kept current until revoke). A failure is retried once and then returned (the caller logs it): the grant
 * stands (it is capped, and the review follows).
 */
export async function announceBreakGlass(
  deps: Pick<Deps, 'alerts' | 'approvals'>,
  request: AccessRequest,
): Promise<string[]> {
  return sendAnnouncement(deps, request);
}

/**
 * After the grant: announces, then notes on the request whether the alert topic took it
 * (`BREAK_GLASS_ANNOUNCED`, with `announcedAt`) or not (`BREAK_GLASS_ANNOUNCE_FAILED`, with a follow-up now,
 * so the review job sends it again within minutes). Returns what failed (the grant step logs it).
 */
export async function announceAndNote(deps: Deps, request: AccessRequest): Promise<string[]> {
  const failures = await sendAnnouncement(deps, request);
  await noteAnnouncement(deps, request.id, failures).catch((error: unknown) => {
    failures.push(`break-glass announcement not noted: ${(error as Error).message}`);
  });
  return failures;
}

/**
 * The review job's retry of an announcement the grant step could not send: the alert only (the Slack card,
 * if it was posted, is already kept current).
 */
export async function reannounce(deps: Deps, request: AccessRequest): Promise<string[]> {
  const failures = await sendAnnouncement(
    { ...deps, approvals: { requestPending: async () => {} } },
    request,
  );
  await noteAnnouncement(deps, request.id, failures);
  return failures;
}

/** Records whether the alert topic took the announcement; on failure the review job retries it. */
async function noteAnnouncement(deps: Deps, id: string, failures: readonly string[]): Promise<void> {
  const alertFailed = failures.some((f) => f.startsWith('break-glass alert'));
  for (let attempt = 1; ; attempt++) {
    const request = await load(deps, id);
    const bg = request.breakGlass;
    if (!bg || bg.announcedAt !== undefined) return;
    const at = deps.clock.now().toISOString();
    try {
      await move(
        deps,
        request,
        request.status,
        'system:break-glass',
        alertFailed
          ? { event: 'BREAK_GLASS_ANNOUNCE_FAILED', failures }
          : { event: 'BREAK_GLASS_ANNOUNCED', channels: deps.alerts ? ['alerts'] : [] },
        alertFailed
          ? { followUpAt: request.followUpAt && request.followUpAt < at ? request.followUpAt : at }
          : {
              breakGlass: { ...bg, announcedAt: at },
              // While granted nothing else is due; after revoke the review job's own follow-up stays.
              ...(request.status === 'GRANTED' && request.followUpAt !== undefined
                ? { followUpAt: null }
                : {}),
            },
      );
      return;
    } catch (error) {
      if (!(error instanceof TransitionRefusedError) || attempt >= 5) throw error;
    }
  }
}

/** Sends the announcement: the alert topic and the security channel, each tried twice. */
async function sendAnnouncement(
  deps: Pick<Deps, 'alerts' | 'approvals'>,
  request: AccessRequest,
): Promise<string[]> {
  const alert = breakGlassAlert(request);
  const failures: string[] = [];
  const tries = async (what: string, send: () => Promise<void>) => {
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        await send();
        return;
      } catch (error) {
        if (attempt === 2) failures.push(`break-glass ${what} failed: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all([
    deps.alerts
      ? tries('alert', () => (deps.alerts as NonNullable<Deps['alerts']>).publish(alert))
      : undefined,
    deps.approvals.announce
      ? tries('Slack card', () => deps.approvals.announce?.(request) ?? Promise.resolve())
      : undefined,
  ]);
  return failures;
}

const reviewBody = z.strictObject({
  verdict: z.enum(['appropriate', 'misuse']),
  notes: z.string().check(z.trim(), z.minLength(3), z.maxLength(2000)),
});

/** `POST /requests/{id}/review` body. */
export type BreakGlassReviewBody = z.input<typeof reviewBody>;

/** What a review answers: the reviews so far, and whether they are complete. */
export interface BreakGlassReviewResult {
  readonly requestId: string;
  readonly reviews: readonly BreakGlassReview[];
  readonly reviewed: boolean;
  /** The audit review (CloudTrail) attached to this verdict: its pass and hash, when one is stored. */
  readonly activityReview?: { readonly pass: number; readonly hash: string };
}

/**
 * `POST /requests/{id}/review`: a break-glass reviewer's verdict, after revoke. Two distinct reviewers (by
 * person, see people.ts), never the requester; each verdict is a `BREAK_GLASS_REVIEW` note carrying the
 * audit review's hash it was given with. The second closes the review and lifts a suspension.
 */
export async function reviewBreakGlass(
  deps: Deps,
  caller: string,
  id: string,
  body: unknown,
): Promise<BreakGlassReviewResult> {
  const asked = parseWith(reviewBody, body, (issues) => {
    const first = issues[0];
    return new InvalidRequestError(first ? `${first.field} ${first.message}` : 'invalid body', issues);
  });
  for (let attempt = 1; ; attempt++) {
    const request = await load(deps, id);
    const bg = request.breakGlass;
    if (!bg) throw new ConflictError('NotAwaitingReview', `request ${id} is not a break-glass request`);
    if (!isBreakGlassReviewer(deps.config, caller)) {
      throw new ForbiddenError('only the break-glass reviewers (breakGlass.reviewers) may review');
    }
    if (samePerson(deps.config, request.requester, caller)) {
      throw new ForbiddenError('a requester never reviews their own break-glass grant');
    }
    if (request.status !== 'REVOKED') {
      throw new ConflictError(
        'NotAwaitingReview',
        `request is ${request.status}: it is reviewed after revoke`,
      );
    }
    if (bg.reviewed) throw new ConflictError('AlreadyReviewed', 'two reviewers have already reviewed it');
    if (bg.reviews.some((r) => samePerson(deps.config, r.reviewer, caller))) {
      throw new ConflictError('AlreadyReviewed', 'you have already reviewed this request');
    }
    const at = deps.clock.now().toISOString();
    const review: BreakGlassReview = { reviewer: caller, verdict: asked.verdict, notes: asked.notes, at };
    const reviews = [...bg.reviews, review];
    const reviewed = reviews.length >= BREAK_GLASS_REVIEWERS;
    const next = { ...bg, reviews, ...(reviewed ? { reviewed: true } : {}) };
    const activity = request.review;
    const events = await deps.store.events(id);
    const window = reviewWindow(request, events, deps.config.audit.deliveryDelaySeconds, deps.clock.now());
    try {
      await move(
        deps,
        request,
        'REVOKED',
        caller,
        {
          event: 'BREAK_GLASS_REVIEW',
          verdict: asked.verdict,
          notes: asked.notes,
          reviews: reviews.length,
          ...(activity ? { activityReview: { pass: activity.pass, hash: activity.hash } } : {}),
        },
        {
          breakGlass: next,
          ...(window
            ? { followUpAt: nextFollowUp(deps.config, { ...request, breakGlass: next }, window.usableUntil) }
            : {}),
        },
      );
      return {
        requestId: id,
        reviews,
        reviewed,
        ...(activity ? { activityReview: { pass: activity.pass, hash: activity.hash } } : {}),
      };
    } catch (error) {
      if (!(error instanceof TransitionRefusedError) || attempt >= 5) throw error;
    }
  }
}

/**
 * The break-glass reviews awaiting the caller (`GET /pending`): revoked, not yet reviewed by two, never the
 * caller's own, not already reviewed by the caller. Oldest first.
 */
export async function breakGlassReviewsDue(
  deps: Pick<Deps, 'store' | 'config'>,
  caller: string,
): Promise<PublicRequest[]> {
  if (!isBreakGlassReviewer(deps.config, caller)) return [];
  const followUps = await deps.store.findFollowUps(FAR_FUTURE, SCAN_LIMIT);
  return followUps
    .filter(
      (r) =>
        r.breakGlass !== undefined &&
        !r.breakGlass.reviewed &&
        r.status === 'REVOKED' &&
        !samePerson(deps.config, r.requester, caller) &&
        !r.breakGlass.reviews.some((v) => samePerson(deps.config, v.reviewer, caller)),
    )
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
    .map(toPublic);
}
