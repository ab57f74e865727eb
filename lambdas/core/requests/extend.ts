/**
 * `POST /requests/{id}/extend`: the requester of a live grant asks for more time. The extension is a child
 * request (`extends` the parent) with its own decision, its own `jit-<childId>` grant and its own expiry;
 * the parent's workflow is never touched, so an extension not granted in time changes nothing.
 */
import * as z from 'zod/mini';
import { load, move } from '../audit/transition.ts';
import {
  ConflictError,
  type FieldIssue,
  ForbiddenError,
  InvalidRequestError,
  NotEligibleError,
} from '../errors.ts';
import type { Status } from '../lifecycle.ts';
import type { AccessRequest, Permission } from '../model.ts';
import { covers } from '../patterns.ts';
import type { PolicyConfig, Rule } from '../policy/config.ts';
import { validateRequest } from '../policy/validate.ts';
import type { Deps } from '../ports.ts';
import { arnCovers } from '../principals.ts';
import { parseWith } from '../schema.ts';
import { newRequest, ruleOf } from './requests.ts';

/** A chain (the first grant and its extensions) lasts at most this many times the rule's maximum. */
export const CHAIN_LIFETIME_FACTOR = 2;

const extendBodySchema = z.strictObject({
  durationSeconds: z.int().check(z.positive()),
  reasonCode: z.string().check(z.trim(), z.minLength(1), z.maxLength(64)),
  reason: z.string().check(z.trim(), z.minLength(3), z.maxLength(1000)),
  /** The same or fewer permissions than the parent; absent: the parent's. */
  permissions: z.optional(
    z.array(
      z.strictObject({
        actions: z.array(z.string().check(z.maxLength(128))).check(z.minLength(1), z.maxLength(50)),
        resources: z.array(z.string().check(z.maxLength(2048))).check(z.minLength(1), z.maxLength(50)),
      }),
    ),
  ),
});

/** The body of `POST /requests/{id}/extend`. */
export type ExtendBody = z.input<typeof extendBodySchema>;

function invalid(issues: FieldIssue[]): InvalidRequestError {
  const first = issues[0];
  return new InvalidRequestError(first ? `${first.field} ${first.message}` : 'invalid extension', issues);
}

function notExtendable(field: string, message: string): ConflictError {
  return new ConflictError('NotExtendable', `${field}: ${message}`, [{ field, message }]);
}

/** The reason codes an extension of `rule` may give. */
export function reasonCodesOf(config: PolicyConfig, rule: Rule): readonly string[] {
  return rule.extension.reasonCodes ?? config.extensionReasonCodes;
}

/** When the request's grant started: the time of its `APPROVED → GRANTED` event. */
async function grantedAt(deps: Pick<Deps, 'store'>, request: AccessRequest): Promise<number> {
  const events = await deps.store.events(request.id);
  const granted = events.find((e) => e.from === 'APPROVED' && e.to === 'GRANTED');
  if (granted) return Date.parse(granted.at);
  // Unreachable for a GRANTED request; the grant's own window is the next best bound.
  return Date.parse(request.expiresAt ?? '') - request.durationSeconds * 1000;
}

/** How many extensions the chain ending in `request` already holds (its ancestors that extend). */
async function extensionsBefore(deps: Pick<Deps, 'store'>, request: AccessRequest): Promise<number> {
  let count = 0;
  let current = request;
  while (current.extends && count <= 20) {
    count++;
    current = await load(deps, current.extends);
  }
  return count;
}

/** Why the child's permissions reach beyond the parent's (each action × resource must be in one parent block). */
export function widerThan(parent: readonly Permission[], child: readonly Permission[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  child.forEach((p, i) => {
    p.actions.forEach((action, j) => {
      const ok = p.resources.every((resource) =>
        parent.some(
          (q) =>
            q.actions.some((a) => covers(a, action, { caseInsensitive: true })) &&
            q.resources.some((r) => arnCovers(r, resource)),
        ),
      );
      if (!ok) {
        issues.push({
          field: `permissions[${i}].actions[${j}]`,
          message: `"${action}" on these resources is not held by the grant being extended`,
        });
      }
    });
  });
  return issues;
}

/** Statuses of a child that still stands in the way of another extension of the same parent. */
const OPEN_CHILD: readonly Status[] = ['REQUESTED', 'PENDING_APPROVAL', 'APPROVED', 'GRANTED'];

/**
 * Asks to extend the grant `parentId`. Refuses (with the field at fault): anyone but its requester (403);
 * a grant that has ended (409 `id`: request anew), before its `openAt` share of the TTL (409 `openAt`),
 * beyond `maxExtensions` (409 `maxExtensions`), while another extension of it is open (409 `extendedBy`);
 * an unknown reason code (400 `reasonCode`), a chain longer than 2 × the rule's maximum (400
 * `durationSeconds`), wider permissions (403 `permissions[i]…`), and whatever the parent's rule refuses
 * today (re-validated now). On success the child is REQUESTED, its workflow started, and the parent holds
 * a `GRANTED → GRANTED` note naming it.
 */
export async function extendRequest(
  deps: Deps,
  caller: string,
  parentId: string,
  body: unknown,
): Promise<{ requestId: string; status: Status; extends: string }> {
  const asked = parseWith(extendBodySchema, body, invalid);
  const parent = await load(deps, parentId);
  if (parent.requester !== caller) throw new ForbiddenError('only the requester can extend a grant');
  const now = deps.clock.now();
  const expiresAt = Date.parse(parent.expiresAt ?? '');
  if (parent.status !== 'GRANTED' || !(expiresAt > now.getTime())) {
    throw notExtendable('id', `request is ${parent.status} and its grant has ended; request access anew`);
  }
  const rule = ruleOf(deps.config, parent);
  if (!rule) throw notExtendable('ruleId', `rule "${parent.ruleId}" no longer exists; request access anew`);
  const settings = rule.extension;
  if (parent.extendedBy) {
    const open = await deps.store.get(parent.extendedBy);
    if (open && OPEN_CHILD.includes(open.status)) {
      throw notExtendable('extendedBy', `extension ${open.id} is already ${open.status}`);
    }
  }
  const before = await extensionsBefore(deps, parent);
  if (before + 1 > settings.maxExtensions) {
    throw notExtendable(
      'maxExtensions',
      `rule "${rule.id}" allows ${settings.maxExtensions} extension(s) of one grant; this one has ${before}`,
    );
  }
  const start = await grantedAt(deps, parent);
  const opensAt = start + settings.openAt * (expiresAt - start);
  if (now.getTime() < opensAt) {
    throw notExtendable(
      'openAt',
      `extending opens at ${new Date(opensAt).toISOString()} (after ${settings.openAt * 100}% of the grant)`,
    );
  }
  const codes = reasonCodesOf(deps.config, rule);
  if (!codes.includes(asked.reasonCode)) {
    throw invalid([{ field: 'reasonCode', message: `must be one of ${codes.join(', ')}` }]);
  }
  const chainEndsBy =
    parent.chainEndsBy ??
    new Date(start + CHAIN_LIFETIME_FACTOR * rule.maxDurationSeconds * 1000).toISOString();
  const room = Math.floor((Date.parse(chainEndsBy) - now.getTime()) / 1000);
  if (asked.durationSeconds > room) {
    throw invalid([
      {
        field: 'durationSeconds',
        message: `the chain may last ${CHAIN_LIFETIME_FACTOR} × ${rule.maxDurationSeconds} s (until ${chainEndsBy}); at most ${Math.max(room, 0)} s are left`,
      },
    ]);
  }
  const permissions = asked.permissions ?? parent.permissions;
  const wider = widerThan(parent.permissions, permissions);
  if (wider.length > 0) throw new NotEligibleError(`${wider[0]?.field} ${wider[0]?.message}`, wider);
  const valid = validateRequest(
    {
      kind: parent.kind,
      target: parent.target,
      permissions,
      durationSeconds: asked.durationSeconds,
      reason: asked.reason,
      ...(parent.ticket === undefined ? {} : { ticket: parent.ticket }),
    },
    caller,
    deps.config,
    { ruleId: rule.id },
  );
  const { request: child, event } = newRequest(deps, caller, valid, {
    details: { extends: parent.id, reasonCode: asked.reasonCode },
    fields: { extends: parent.id, reasonCode: asked.reasonCode, chainEndsBy },
  });
  const id = child.id;
  await deps.store.create(child, event);
  try {
    // The note is a conditional write on the parent as read: a revoke landing meanwhile refuses it.
    await move(
      deps,
      parent,
      'GRANTED',
      caller,
      { extendedBy: id, reasonCode: asked.reasonCode, durationSeconds: valid.durationSeconds },
      { extendedBy: id },
    );
    await deps.workflow.start(id);
  } catch (error) {
    await move(deps, child, 'REJECTED', 'system:broker', {
      reason: 'the extension could not be recorded on its grant or its workflow could not be started',
    });
    throw error;
  }
  return { requestId: id, status: 'REQUESTED', extends: parent.id };
}
