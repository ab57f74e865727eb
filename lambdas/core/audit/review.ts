/**
 * The audit review of one grant, built from its request, its audit log and the CloudTrail records the
 * sources returned. Pure: which records belong to the grant is decided here, once, whatever the source.
 *
 * A record belongs to a credentials grant when it was made with the grant's own session (its access key
 * id, or `aws:userid` = `<roleId>:jit-<id>`): another session of the same role is not the grant's. An inline
 * grant changes what every session of its principal may do, so a record belongs to it when the principal
 * made it while the policy was in force, and it is one of the granted actions on a granted resource (a call
 * the principal could make anyway, on something else, is not the grant's) or a refusal in a granted service.
 */
import { createHash } from 'node:crypto';
import type { AccessRequest, AuditEvent } from '../model.ts';
import { matches, type PatternOptions } from '../patterns.ts';
import { arnMatches, principalOf, splitArn } from '../principals.ts';
import {
  type ActivityEvent,
  type ActivityQuery,
  type ActivityResult,
  actionOf,
  type EventClass,
  eventSourceOf,
  iamActionsOf,
} from './activity.ts';
import { canonicalJson, verifyChain } from './chain.ts';
import {
  type ActionUse,
  type ActivityReview,
  REVIEW_CALLS_LIMIT,
  type Refusal,
  type ReviewedCall,
  type SuggestedStatement,
} from './review-report.ts';

/** True when one of the patterns matches the value. */
function patternsMatch(patterns: readonly string[], value: string, opts: PatternOptions): boolean {
  return patterns.some((p) => matches(p, value, opts));
}

/** How many action × resource rows a review lists (most used first); the rest are counted, not listed. */
export const REVIEW_USED_LIMIT = 300;
/** Above this many distinct resources for one action, the suggested policy names the granted patterns. */
const SUGGESTED_RESOURCES_LIMIT = 20;

/** The second, last pass runs at least this long after the grant could last be used. */
const SECOND_PASS_SECONDS = 3600;

/** When the stored passes run: once CloudTrail has had its delivery delay, and again later. */
export function reviewPassTimes(
  config: { readonly audit: { readonly deliveryDelaySeconds: number } },
  usableUntil: string,
): { readonly first: string; readonly second: string } {
  const delay = config.audit.deliveryDelaySeconds;
  const end = Date.parse(usableUntil);
  return {
    first: new Date(end + delay * 1000).toISOString(),
    second: new Date(end + Math.max(SECOND_PASS_SECONDS, 4 * delay) * 1000).toISOString(),
  };
}

/**
 * The next moment the broker has work on a request after its revoke: the next review pass, or the
 * break-glass review deadline while the reviews are missing; null when there is nothing left to do.
 */
export function nextFollowUp(
  config: { readonly audit: { readonly deliveryDelaySeconds: number } },
  request: AccessRequest,
  usableUntil: string,
): string | null {
  const times = reviewPassTimes(config, usableUntil);
  const candidates: string[] = [];
  const pass = request.review?.pass ?? 0;
  if (pass === 0) candidates.push(times.first);
  else if (pass === 1) candidates.push(times.second);
  const bg = request.breakGlass;
  if (bg && !bg.reviewed && bg.reviewDueBy) candidates.push(bg.reviewDueBy);
  return candidates.sort()[0] ?? null;
}

/** The time bounds of a grant's review. */
export interface ReviewWindow {
  readonly grantedAt: string;
  readonly expiresAt?: string;
  readonly revokedAt?: string;
  readonly usableUntil: string;
  readonly searchedFrom: string;
  readonly searchedTo: string;
}

/**
 * The last moment a call made with the grant can be the grant's: an inline policy is gone (or past its
 * condition) at the revoke or the expiry, whichever comes first; a credentials session keeps being recorded
 * (refused after revoke's session deny) until its credentials expire.
 */
export function usableUntilOf(request: AccessRequest, revokedAt: string): string {
  // Compared as instants: expiresAt has no milliseconds, event times do.
  const at = (t: string) => Date.parse(t);
  const end =
    request.expiresAt !== undefined && at(request.expiresAt) < at(revokedAt) ? request.expiresAt : revokedAt;
  const credentialsEnd = request.kind === 'credentials' ? request.session?.credentialsExpireAt : undefined;
  return credentialsEnd && at(credentialsEnd) > at(end) ? credentialsEnd : end;
}

/** When the grant started and ended, from its log; undefined when it was never granted. */
export function reviewWindow(
  request: AccessRequest,
  events: readonly AuditEvent[],
  deliveryDelaySeconds: number,
  now: Date,
): ReviewWindow | undefined {
  const granted = events.find((e) => e.from === 'APPROVED' && e.to === 'GRANTED');
  if (!granted) return undefined;
  const revoked = events.find((e) => e.to === 'REVOKED' && e.from !== 'REVOKED');
  const expiresAt = request.expiresAt;
  const usableUntil = usableUntilOf(request, revoked?.at ?? now.toISOString());
  const searchedTo = new Date(Date.parse(usableUntil) + deliveryDelaySeconds * 1000).toISOString();
  return {
    grantedAt: granted.at,
    ...(expiresAt ? { expiresAt } : {}),
    ...(revoked ? { revokedAt: revoked.at } : {}),
    usableUntil,
    searchedFrom: granted.at,
    searchedTo,
  };
}

/** The granted services' CloudTrail event sources (`s3:GetObject` → `s3.amazonaws.com`). */
function grantedEventSources(request: AccessRequest): string[] {
  const services = request.permissions.flatMap((p) => p.actions.map((a) => a.split(':')[0] ?? ''));
  return [...new Set(services.filter((s) => s && !s.includes('*')).map(eventSourceOf))].sort();
}

/** What to ask the sources for one grant. */
export function activityQuery(request: AccessRequest, window: ReviewWindow): ActivityQuery {
  const principal = principalOf(request);
  const session = request.kind === 'credentials' ? request.session : undefined;
  return {
    requestId: request.id,
    account: principal.account,
    start: window.searchedFrom,
    end: window.searchedTo,
    principalArn: request.target,
    ...(session?.accessKeyId ? { accessKeyId: session.accessKeyId } : {}),
    ...(session
      ? { sessionName: session.sessionName, sourceIdentity: session.sourceIdentity, roleId: session.roleId }
      : {}),
    eventSources: grantedEventSources(request),
  };
}

/** True when `arn` (a record's `userIdentity.arn`) is the target principal or a session of it. */
export function isPrincipal(request: AccessRequest, arn: string | undefined): boolean {
  if (!arn) return false;
  const target = principalOf(request);
  const parts = splitArn(arn);
  if (!parts || parts.account !== target.account) return false;
  const [type, ...rest] = parts.resource.split('/');
  if (target.type === 'role')
    return parts.service === 'sts' && type === 'assumed-role' && rest[0] === target.name;
  return parts.service === 'iam' && type === 'user' && rest.at(-1) === target.name;
}

/** The granted action patterns, once each, in the order of the grant. */
function grantedActions(request: AccessRequest): string[] {
  return [...new Set(request.permissions.flatMap((p) => p.actions))];
}

/** True when the action is one the grant allows (case-insensitive, as IAM compares actions). */
function isGrantedAction(request: AccessRequest, action: string): boolean {
  return patternsMatch(grantedActions(request), action, { caseInsensitive: true });
}

/** The record's resource that the grant covers for that action (undefined: none of them is covered). */
function coveredResource(request: AccessRequest, action: string, event: ActivityEvent): string | undefined {
  const blocks = request.permissions.filter((p) =>
    patternsMatch(p.actions, action, { caseInsensitive: true }),
  );
  for (const resource of event.resources) {
    if (blocks.some((b) => b.resources.some((r) => r === '*' || arnMatches(r, resource)))) return resource;
  }
  return undefined;
}

/** The record's failure, if any: CloudTrail sets `errorCode` on a refused or failed call. */
function isRefused(event: ActivityEvent): boolean {
  return event.errorCode !== undefined && event.errorCode !== '';
}

/** A classified record: whose, allowed or refused, and on what. */
interface Matched {
  readonly event: ActivityEvent;
  readonly action: string;
  readonly resource: string;
  readonly refused: boolean;
  readonly insideGrant: boolean;
}

function within(at: string, from: string, to: string): boolean {
  const t = Date.parse(at);
  return t >= Date.parse(from) && t <= Date.parse(to);
}

/**
 * The record as the grant's, or undefined when it is not the grant's: the one place that decides.
 * See the module comment for the rules per kind.
 */
export function matchRecord(
  request: AccessRequest,
  window: ReviewWindow,
  event: ActivityEvent,
): Matched | undefined {
  const account = principalOf(request).account;
  if (event.recipientAccountId !== account) return undefined;
  if (!within(event.eventTime, window.grantedAt, window.usableUntil)) return undefined;
  // The IAM action the record stands for: the granted one among its candidates (`ListObjectsV2` is
  // authorized by `s3:ListBucket`), else its own name.
  const candidates = iamActionsOf(event);
  const action = candidates.find((a) => isGrantedAction(request, a)) ?? actionOf(event);
  const refused = isRefused(event);
  const covered = coveredResource(request, action, event);
  const granted = isGrantedAction(request, action);
  const onGrantedResource = event.resources.length === 0 || covered !== undefined;
  const resource = covered ?? event.resources[0] ?? '*';
  if (request.kind === 'credentials') {
    const session = request.session;
    if (!session) return undefined;
    const byKey = session.accessKeyId !== undefined && event.userIdentity.accessKeyId === session.accessKeyId;
    const byUserId = event.userIdentity.principalId === `${session.roleId}:${session.sessionName}`;
    if (!byKey && !byUserId) return undefined;
    return { event, action, resource, refused, insideGrant: granted && onGrantedResource };
  }
  if (!isPrincipal(request, event.userIdentity.arn)) return undefined;
  if (refused) {
    // A refusal counts when it is in a service the grant touches (the sources were asked for those only).
    if (!grantedEventSources(request).includes(event.eventSource)) return undefined;
    return { event, action, resource, refused, insideGrant: granted && onGrantedResource };
  }
  if (!granted || !onGrantedResource) return undefined;
  return { event, action, resource, refused, insideGrant: true };
}

/** The CloudTrail console's page of one record. */
export function eventLink(event: ActivityEvent): string {
  const region = encodeURIComponent(event.awsRegion);
  return `https://${region}.console.aws.amazon.com/cloudtrailv2/home?region=${region}#/events/${encodeURIComponent(event.eventId)}`;
}

/** Who made a record: `aws:userid` of a session, or the user ARN. */
function sessionOf(event: ActivityEvent): string | undefined {
  return event.userIdentity.principalId ?? event.userIdentity.arn;
}

function sortedUnique(values: readonly (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined && v !== ''))].sort();
}

/** Allowed calls per action × resource, most used first. */
function usage(matched: readonly Matched[]): ActionUse[] {
  const rows = new Map<string, Matched[]>();
  for (const m of matched) {
    // A credentials session may also make calls that need no permission (sts:GetCallerIdentity): they are
    // on the timeline but are no use of what was granted.
    if (m.refused || !m.insideGrant) continue;
    const key = `${m.action}\u0000${m.resource}`;
    rows.set(key, [...(rows.get(key) ?? []), m]);
  }
  return [...rows.values()]
    .map((calls) => {
      const times = calls.map((c) => c.event.eventTime).sort();
      const first = calls[0] as Matched;
      return {
        action: first.action,
        resource: first.resource,
        calls: calls.length,
        firstAt: times[0] as string,
        lastAt: times.at(-1) as string,
        sessions: sortedUnique(calls.map((c) => sessionOf(c.event))),
        sourceIps: sortedUnique(calls.map((c) => c.event.sourceIPAddress)),
        userAgents: sortedUnique(calls.map((c) => c.event.userAgent)),
      };
    })
    .sort(
      (a, b) => b.calls - a.calls || a.action.localeCompare(b.action) || a.resource.localeCompare(b.resource),
    );
}

/**
 * The least-privilege policy of what was used: per used action, the resources it was used on (the granted
 * patterns that covered them when the records name none, or when they name too many to list); actions
 * with the same resources share a statement.
 */
function suggestedPolicy(request: AccessRequest, used: readonly ActionUse[]): SuggestedStatement[] {
  const byAction = new Map<string, Set<string>>();
  for (const row of used) {
    const set = byAction.get(row.action) ?? new Set<string>();
    set.add(row.resource);
    byAction.set(row.action, set);
  }
  const byResources = new Map<string, { actions: string[]; resources: string[] }>();
  for (const [action, resourceSet] of byAction) {
    const granted = request.permissions
      .filter((p) => patternsMatch(p.actions, action, { caseInsensitive: true }))
      .flatMap((p) => p.resources);
    const concrete = [...resourceSet].filter((r) => r !== '*');
    const resources =
      concrete.length === 0 || concrete.length > SUGGESTED_RESOURCES_LIMIT || resourceSet.has('*')
        ? sortedUnique(
            granted.filter(
              (g) =>
                concrete.length === 0 ||
                resourceSet.has('*') ||
                concrete.some((c) => g === '*' || arnMatches(g, c)),
            ),
          )
        : concrete.sort();
    const key = resources.join('\n');
    const entry = byResources.get(key) ?? { actions: [], resources };
    entry.actions.push(action);
    byResources.set(key, entry);
  }
  return [...byResources.values()].map((s) => ({
    Effect: 'Allow' as const,
    Action: s.actions.sort(),
    Resource: s.resources,
  }));
}

/** SHA-256 of a review's canonical JSON without its `hash`. */
export function hashReview(review: Omit<ActivityReview, 'hash'>): string {
  const { hash: _hash, ...body } = review as ActivityReview;
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** Everything a review is built from. */
export interface ReviewInput {
  readonly request: AccessRequest;
  readonly events: readonly AuditEvent[];
  readonly window: ReviewWindow;
  readonly activity: ActivityResult;
  readonly now: Date;
  /** 0: on demand (provisional); 1 or 2: the scheduled passes (final). */
  readonly pass: 0 | 1 | 2;
}

/** Builds the review of one grant. */
export function buildReview(input: ReviewInput): ActivityReview {
  const { request, events, window, activity, now, pass } = input;
  const matched = activity.events
    .map((e) => matchRecord(request, window, e))
    .filter((m): m is Matched => m !== undefined)
    .sort(
      (a, b) =>
        a.event.eventTime.localeCompare(b.event.eventTime) || a.event.eventId.localeCompare(b.event.eventId),
    );
  const allUsed = usage(matched);
  const allowed = matched.filter((m) => !m.refused && m.insideGrant);
  const actions = grantedActions(request);
  const unusedActions = actions.filter(
    (a) => !allowed.some((m) => patternsMatch([a], m.action, { caseInsensitive: true })),
  );
  const refused: Refusal[] = matched
    .filter((m) => m.refused)
    .map((m) => ({
      action: m.action,
      resource: m.resource,
      at: m.event.eventTime,
      errorCode: m.event.errorCode as string,
      insideGrant: m.insideGrant,
      eventId: m.event.eventId,
      ...(m.event.sourceIPAddress ? { sourceIp: m.event.sourceIPAddress } : {}),
    }));
  // Credentials: the session's first call, whatever its outcome; inline: the first call the grant allowed.
  const first = request.kind === 'credentials' ? matched[0] : allowed[0];
  const healthy = activity.sources.filter((s) => s.error === undefined);
  const classes = new Set<EventClass>(healthy.flatMap((s) => s.eventClasses));
  const calls: ReviewedCall[] = matched.slice(0, REVIEW_CALLS_LIMIT).map((m) => ({
    eventId: m.event.eventId,
    at: m.event.eventTime,
    action: m.action,
    resource: m.resource,
    outcome: m.refused ? ('refused' as const) : ('allowed' as const),
    ...(m.event.errorCode ? { errorCode: m.event.errorCode } : {}),
    ...(sessionOf(m.event) ? { session: sessionOf(m.event) } : {}),
    ...(m.event.sourceIPAddress ? { sourceIp: m.event.sourceIPAddress } : {}),
    ...(m.event.userAgent ? { userAgent: m.event.userAgent } : {}),
    eventClass: m.event.eventCategory === 'Data' ? ('data' as const) : ('management' as const),
    link: eventLink(m.event),
  }));
  const chain = verifyChain(events, request);
  const query = activityQuery(request, window);
  const review: Omit<ActivityReview, 'hash'> = {
    requestId: request.id,
    kind: request.kind,
    ruleId: request.ruleId,
    requester: request.requester,
    target: request.target,
    account: query.account,
    reason: request.reason,
    ...(request.ticket ? { ticket: request.ticket } : {}),
    status: request.status,
    approvals: request.approvals.map((a) => ({ approver: a.approver, at: a.at })),
    ...(request.breakGlass ? { breakGlass: true } : {}),
    granted: request.permissions.map((p) => ({ actions: [...p.actions], resources: [...p.resources] })),
    window,
    correlation: {
      principalArn: request.target,
      ...(query.accessKeyId ? { accessKeyId: query.accessKeyId } : {}),
      ...(query.sessionName ? { sessionName: query.sessionName } : {}),
      ...(query.sourceIdentity ? { sourceIdentity: query.sourceIdentity } : {}),
      ...(query.roleId ? { roleId: query.roleId } : {}),
    },
    provisional: pass === 0,
    pass,
    generatedAt: now.toISOString(),
    ...(first
      ? {
          firstUse: {
            at: first.event.eventTime,
            action: first.action,
            eventId: first.event.eventId,
            ...(first.event.sourceIPAddress ? { sourceIp: first.event.sourceIPAddress } : {}),
            ...(first.event.userAgent ? { userAgent: first.event.userAgent } : {}),
          },
        }
      : {}),
    used: allUsed.slice(0, REVIEW_USED_LIMIT),
    usedTruncated: allUsed.length > REVIEW_USED_LIMIT,
    refused: refused.slice(0, REVIEW_CALLS_LIMIT),
    unused: {
      actions: unusedActions,
      share: actions.length === 0 ? 0 : Math.round((unusedActions.length / actions.length) * 1000) / 1000,
    },
    suggestedPolicy: { Version: '2012-10-17', Statement: suggestedPolicy(request, allUsed) },
    visibility: {
      eventClasses: (['management', 'data'] as const).filter((c) => classes.has(c)),
      sources: activity.sources,
      incomplete: activity.sources.length === 0 || activity.sources.some((s) => s.error !== undefined),
    },
    integrity: chain.ok
      ? { ok: true, events: events.length }
      : { ok: false, events: events.length, problem: `event ${chain.seq}: ${chain.reason}` },
    calls,
    callsTruncated: matched.length > REVIEW_CALLS_LIMIT,
  };
  return review as ActivityReview;
}
