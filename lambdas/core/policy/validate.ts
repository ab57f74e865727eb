import * as z from 'zod/mini';
import { type FieldIssue, InvalidRequestError, NotEligibleError } from '../errors.ts';
import { GRANT_KINDS } from '../grants/kinds.ts';
import { kindOf } from '../grants/registry.ts';
import type { GrantKind, Permission } from '../model.ts';
import { covers, hasWildcard } from '../patterns.ts';
import {
  accountOf,
  arnCovers,
  arnMatches,
  concreteTargetType,
  hasBrokenPolicyVariable,
  policyVariables,
  splitArn,
  withoutPath,
} from '../principals.ts';
import { parseWith } from '../schema.ts';
import { listedAccounts } from './accounts.ts';
import { ACTION_RE, deniedBy, type PolicyConfig, type Rule } from './config.ts';

const INCIDENT_RE = /^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,127}$/;

const text = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));

const permissionSchema = z.strictObject({
  actions: z.array(z.string().check(z.maxLength(128))).check(z.minLength(1), z.maxLength(50)),
  resources: z.array(z.string().check(z.maxLength(2048))).check(z.minLength(1), z.maxLength(50)),
});

const bodySchema = z.strictObject({
  kind: z._default(z.enum(GRANT_KINDS), 'policy'),
  target: text(2048),
  permissions: z.array(permissionSchema).check(z.minLength(1), z.maxLength(10)),
  durationSeconds: z.optional(z.int().check(z.positive())),
  reason: z.string().check(z.trim(), z.minLength(3), z.maxLength(1000)),
  ticket: z.optional(text(128)),
  /** Break-glass: the incident this access is for (`INC-1234`, a ticket URL's key). */
  incident: z.optional(
    z
      .string()
      .check(
        z.trim(),
        z.regex(INCIDENT_RE, 'must be 1-128 letters, digits or ._:/#- (an incident reference)'),
      ),
  ),
  /** Break-glass: one of `breakGlass.reasonCodes`. */
  reasonCode: z.optional(text(64)),
});

/** The body of `POST /requests`, as the caller sends it. */
export type RequestBody = z.input<typeof bodySchema>;

/** A request that passed every check, with the rule that allows it. */
export interface ValidatedRequest {
  readonly kind: GrantKind;
  readonly target: string;
  readonly targetType: 'role' | 'user';
  readonly permissions: readonly Permission[];
  readonly durationSeconds: number;
  readonly reason: string;
  readonly ticket?: string;
  readonly rule: Rule;
  /** Break-glass requests: the incident and the reason code. */
  readonly breakGlass?: { readonly incident: string; readonly reasonCode: string };
}

/** Keys that would widen a grant beyond what it names; never accepted, reported by name. */
const NEGATED_KEYS = ['NotAction', 'NotResource', 'notActions', 'notResources', 'notAction', 'notResource'];

function negatedKeyIssues(body: unknown): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const perms = (body as { permissions?: unknown })?.permissions;
  if (!Array.isArray(perms)) return issues;
  perms.forEach((p, i) => {
    if (p && typeof p === 'object') {
      for (const key of Object.keys(p)) {
        if (NEGATED_KEYS.includes(key)) {
          issues.push({
            field: `permissions[${i}].${key}`,
            message: 'NotAction/NotResource grants are never issued',
          });
        }
      }
    }
  });
  return issues;
}

function invalid(issues: FieldIssue[]): InvalidRequestError {
  const first = issues[0];
  return new InvalidRequestError(first ? `${first.field} ${first.message}` : 'invalid request', issues);
}

/** Shape and global checks that hold whoever asks: schema, action syntax, deny list, target form. */
function parseBody(body: unknown, config: PolicyConfig) {
  const negated = negatedKeyIssues(body);
  if (negated.length > 0) throw invalid(negated);
  const parsed = parseWith(bodySchema, body, invalid);
  const issues: FieldIssue[] = [];
  parsed.permissions.forEach((p, i) => {
    p.actions.forEach((action, j) => {
      const field = `permissions[${i}].actions[${j}]`;
      if (action.includes('${')) {
        issues.push({ field, message: `"${action}" holds a policy variable; actions never take one` });
        return;
      }
      if (!ACTION_RE.test(action)) {
        issues.push({ field, message: `"${action}" is not an action of the form "service:Action"` });
        return;
      }
      const hit = deniedBy(action, config.globalDenyActions);
      if (hit) issues.push({ field, message: `"${action}" is globally denied (matches "${hit}")` });
    });
    p.resources.forEach((resource, j) => {
      const field = `permissions[${i}].resources[${j}]`;
      if (resource === '*') return;
      if (!resource.startsWith('arn:')) {
        issues.push({ field, message: 'must be an ARN or "*"' });
      } else if (!splitArn(resource)) {
        issues.push({
          field,
          message: `"${resource}" is not a well-formed ARN (arn:partition:service:region:account:resource)`,
        });
      } else if (hasBrokenPolicyVariable(resource)) {
        issues.push({ field, message: `"${resource}" holds a "\${" that opens no policy variable` });
      }
    });
  });
  const targetType = concreteTargetType(parsed.target);
  if (!targetType) {
    issues.push({ field: 'target', message: 'must be a concrete IAM role or user ARN (no wildcards)' });
  }
  const d = parsed.durationSeconds;
  if (d !== undefined && (d < config.minDurationSeconds || d > config.maxDurationSeconds)) {
    issues.push({
      field: 'durationSeconds',
      message: `must lie between ${config.minDurationSeconds} and ${config.maxDurationSeconds} seconds`,
    });
  }
  if (issues.length > 0) throw invalid(issues);
  return { ...parsed, targetType: targetType as 'role' | 'user' };
}

/** Why a rule does not allow these permissions; empty when it does. */
function ruleGaps(rule: Rule, permissions: readonly Permission[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  permissions.forEach((p, i) => {
    p.actions.forEach((action, j) => {
      if (!rule.actions.some((allowed) => covers(allowed, action, { caseInsensitive: true }))) {
        issues.push({
          field: `permissions[${i}].actions[${j}]`,
          message: hasWildcard(action)
            ? `"${action}" reaches beyond the actions rule "${rule.id}" allows`
            : `"${action}" is not allowed by rule "${rule.id}"`,
        });
      }
    });
    p.resources.forEach((resource, j) => {
      const message = resourceGap(rule, resource);
      if (message) issues.push({ field: `permissions[${i}].resources[${j}]`, message });
    });
  });
  return issues;
}

/**
 * Why the rule does not cover a requested resource (undefined when it does). Coverage is IAM's per-segment
 * reading (see arnCovers); the message names the first reason a requester can act on.
 */
function resourceGap(rule: Rule, resource: string): string | undefined {
  if (rule.resources.some((allowed) => arnCovers(allowed, resource))) return undefined;
  const requested = splitArn(resource);
  if (!requested) return `"${resource}" (every resource) is allowed only by a rule resource "*"`;
  const variables = policyVariables(resource);
  if (variables.length > 0) {
    return (
      `"${resource}" holds the policy variable ${variables.join(', ')}, whose value IAM fills in at call ` +
      `time; rule "${rule.id}" allows it only where its own resource has the same variable at the same place`
    );
  }
  const ruleArns = rule.resources.map((allowed) => splitArn(allowed)).filter((a) => a !== undefined);
  if (!ruleArns.some((a) => covers(a.service, requested.service))) {
    return `"${resource}" is for service "${requested.service}", which no resource of rule "${rule.id}" names`;
  }
  return `"${resource}" is outside the resources rule "${rule.id}" allows (ARN segments compare one by one)`;
}

/**
 * True when the principal ARN is one the broker must never touch: checked with and without the path, and
 * ignoring case, because IAM does not distinguish names by case.
 */
export function isProtected(target: string, config: PolicyConfig): boolean {
  const forms = [target, withoutPath(target)];
  return config.protectedPrincipals.some((p) =>
    forms.some((t) => arnMatches(p, t, { caseInsensitive: true })),
  );
}

/** True when one of the rule's target patterns matches the target both as given and as IAM addresses it. */
function targetsAllow(rule: Rule, target: string): boolean {
  const addressed = withoutPath(target);
  return (
    rule.targets.some((p) => arnMatches(p, target)) && rule.targets.some((p) => arnMatches(p, addressed))
  );
}

/**
 * Validates a request body for `caller` against the policy config: schema, deny list, eligibility
 * (requester and target patterns of a rule), actions and resources within that rule, duration within the
 * rule's maximum, and the inline-policy size limit of the target type.
 *
 * `options.ruleId` limits the check to that one rule (an extension is validated by its parent's rule).
 *
 * Throws InvalidRequestError (400) for requests no one could make, NotEligibleError (403) for requests
 * this caller may not make. Both name the fields at fault.
 */
export function validateRequest(
  body: unknown,
  caller: string,
  config: PolicyConfig,
  options: { readonly ruleId?: string } = {},
): ValidatedRequest {
  const parsed = parseBody(body, config);
  const kind = kindOf(parsed.kind);
  const targetIssues = kind.targetIssues(parsed.targetType);
  if (targetIssues.length > 0) throw invalid(targetIssues);
  if (isProtected(parsed.target, config)) {
    throw new NotEligibleError('target is a protected principal', [
      { field: 'target', message: 'is a protected principal the broker never modifies' },
    ]);
  }
  // `*` in a rule target's account means any *listed* account: the broker has no grantor anywhere else.
  const account = accountOf(parsed.target);
  if (config.accounts && !listedAccounts(config).some((a) => a.id === account)) {
    throw new NotEligibleError('target is in an account the broker does not grant in', [
      { field: 'target', message: `account ${account} is not listed in the config's accounts` },
    ]);
  }
  // A request naming an incident is break-glass and only break-glass rules answer it; any other request
  // only ordinary rules: nobody skips approval without saying so.
  const breakGlass = parsed.incident !== undefined;
  const reachable = config.rules.filter(
    (r) =>
      (options.ruleId === undefined || r.id === options.ruleId) &&
      r.kind === parsed.kind &&
      r.requesters.some((p) => arnMatches(p, caller)) &&
      targetsAllow(r, parsed.target),
  );
  const candidates = reachable.filter((r) => r.breakGlass === breakGlass);
  if (candidates.length === 0 && reachable.length > 0) {
    throw invalid([
      breakGlass
        ? { field: 'incident', message: 'no break-glass rule lets this caller reach this target' }
        : {
            field: 'incident',
            message:
              'only a break-glass rule covers this target: name an incident and a reason code (jit break-glass)',
          },
    ]);
  }
  if (breakGlass) breakGlassIssues(parsed.reasonCode, config);
  else if (parsed.reasonCode !== undefined) {
    throw invalid([
      {
        field: 'reasonCode',
        message: 'only break-glass requests (with an incident) give a reason code here',
      },
    ]);
  }
  if (candidates.length === 0) {
    throw new NotEligibleError('no rule lets this caller request access to this target', [
      {
        field: 'target',
        message: `no ${parsed.kind} rule lets ${caller} request access to this target`,
      },
    ]);
  }
  let firstGaps: FieldIssue[] = [];
  const rule = candidates.find((r) => {
    const gaps = ruleGaps(r, parsed.permissions);
    if (firstGaps.length === 0) firstGaps = gaps;
    return gaps.length === 0;
  });
  if (!rule) {
    throw new NotEligibleError(`${firstGaps[0]?.field} ${firstGaps[0]?.message}`, firstGaps);
  }
  const durationSeconds =
    parsed.durationSeconds ?? Math.min(config.defaultDurationSeconds, rule.maxDurationSeconds);
  if (durationSeconds > rule.maxDurationSeconds) {
    throw invalid([
      {
        field: 'durationSeconds',
        message: `exceeds the maximum of ${rule.maxDurationSeconds} seconds of rule "${rule.id}"`,
      },
    ]);
  }
  const limitIssues = kind.limitIssues({
    targetType: parsed.targetType,
    durationSeconds,
    permissions: parsed.permissions,
  });
  if (limitIssues.length > 0) throw invalid(limitIssues);
  return {
    kind: parsed.kind,
    target: parsed.target,
    targetType: parsed.targetType,
    permissions: parsed.permissions,
    durationSeconds,
    reason: parsed.reason,
    ...(parsed.ticket === undefined ? {} : { ticket: parsed.ticket }),
    rule,
    ...(parsed.incident !== undefined
      ? { breakGlass: { incident: parsed.incident, reasonCode: parsed.reasonCode ?? '' } }
      : {}),
  };
}

/** A break-glass request gives one of the configured reason codes. */
function breakGlassIssues(reasonCode: string | undefined, config: PolicyConfig): void {
  const codes = config.breakGlass?.reasonCodes ?? [];
  if (reasonCode === undefined || !codes.includes(reasonCode)) {
    throw invalid([{ field: 'reasonCode', message: `must be one of ${codes.join(', ')}` }]);
  }
}
