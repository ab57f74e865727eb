/**
 * How the broker reads ARNs and addresses IAM principals: by type and name in its own account (IAM
 * ignores paths).
 *
 * IAM matches an ARN segment by segment: `arn:partition:service:region:account:resource`. A wildcard in the
 * partition, service, region or account stands for characters of that segment only, never for a `:`; the
 * resource part (everything after the fifth colon) may itself hold colons, and there a wildcard may match
 * them. A glob over the whole ARN would let `eu-*` in a region swallow `west-1:999988887777:x`, so every
 * ARN-pattern question goes through {@link arnCovers} or {@link arnMatches}.
 */
import type { AccessRequest } from './model.ts';
import { covers, matches, type PatternOptions } from './patterns.ts';

/** Which principal an inline policy lives on: its account, type and name (IAM names are unique per account). */
export interface PrincipalRef {
  /** The 12-digit account id the principal lives in (the IAM port routes each call to that account). */
  readonly account: string;
  readonly type: 'role' | 'user';
  /** The role or user name (last path segment of the ARN). */
  readonly name: string;
  /** `aws`, `aws-cn`, `aws-us-gov` (when known from an ARN). */
  readonly partition?: string;
  /** The IAM path between the type and the name, `/` when none (IAM addresses by name alone; kept for display). */
  readonly path?: string;
}

/** The inline policy's home: account, and role or user name, from the target ARN. */
export function principalOf(request: Pick<AccessRequest, 'target' | 'targetType'>): PrincipalRef {
  const parts = splitArn(request.target);
  const resource = parts?.resource ?? '';
  const afterType = resource.slice(resource.indexOf('/') + 1);
  return {
    account: accountOf(request.target) ?? parts?.account ?? '',
    type: request.targetType,
    name: request.target.slice(request.target.lastIndexOf('/') + 1),
    ...(parts
      ? { partition: parts.partition, path: `/${afterType.slice(0, afterType.lastIndexOf('/') + 1)}` }
      : {}),
  };
}

/** True when `principal` is the request's target as the IAM port addresses it. */
export function isTargetOf(
  request: Pick<AccessRequest, 'target' | 'targetType'>,
  principal: PrincipalRef,
): boolean {
  const target = principalOf(request);
  return (
    target.account === principal.account && target.type === principal.type && target.name === principal.name
  );
}

/** The account id of an IAM ARN (undefined for a wildcard or non-IAM ARN). */
export function accountOf(arn: string): string | undefined {
  const parts = splitArn(arn);
  return parts?.service === 'iam' && parts.region === '' && /^\d{12}$/.test(parts.account)
    ? parts.account
    : undefined;
}

/** The segments of an ARN (or ARN pattern) as IAM reads them. */
export interface ArnParts {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  /** Everything after the fifth colon; may hold `:` itself (`log-group:/app/web`). */
  readonly resource: string;
}

/** A policy variable such as `${aws:username}`: IAM fills in its value when the policy is evaluated. */
const POLICY_VARIABLE = /\$\{[^{}]*\}/g;
/** Splits text into literal pieces (even indexes) and policy variables (odd indexes). */
const AROUND_VARIABLES = /(\$\{[^{}]*\})/;

/** The policy variables (`${…}`) in the text, in order, as written. */
export function policyVariables(text: string): string[] {
  return text.match(POLICY_VARIABLE) ?? [];
}

/** True when the text holds a `${` that does not open a well-formed policy variable. */
export function hasBrokenPolicyVariable(text: string): boolean {
  return text.replace(POLICY_VARIABLE, '').includes('${');
}

/**
 * Splits an ARN or ARN pattern into its segments, or undefined when it is not one: it must start with the
 * literal `arn:`, have at least six colon-separated segments, and name a partition, a service and a
 * resource. A colon inside a policy variable (`${aws:username}`) does not separate segments.
 */
export function splitArn(arn: string): ArnParts | undefined {
  const colons: number[] = [];
  for (const m of arn.matchAll(/\$\{[^{}]*\}|:/g)) {
    if (m[0] === ':') colons.push(m.index);
    if (colons.length === 5) break;
  }
  const [c0, c1, c2, c3, c4] = colons;
  if (c0 === undefined || c1 === undefined || c2 === undefined || c3 === undefined || c4 === undefined) {
    return undefined;
  }
  if (arn.slice(0, c0) !== 'arn') return undefined;
  const parts: ArnParts = {
    partition: arn.slice(c0 + 1, c1),
    service: arn.slice(c1 + 1, c2),
    region: arn.slice(c2 + 1, c3),
    account: arn.slice(c3 + 1, c4),
    resource: arn.slice(c4 + 1),
  };
  return parts.partition && parts.service && parts.resource ? parts : undefined;
}

const SEGMENTS = ['partition', 'service', 'region', 'account', 'resource'] as const;

/**
 * One segment against another, where `glob` answers for the literal text. Policy variables are compared as
 * opaque tokens: their value is chosen at call time, so only the same variable at the same place (between
 * pieces that agree) can be judged; a wildcard never stands in for one.
 */
function segmentAgrees(
  outer: string,
  inner: string,
  glob: (o: string, i: string) => boolean,
  opts: PatternOptions,
): boolean {
  const o = outer.split(AROUND_VARIABLES);
  const i = inner.split(AROUND_VARIABLES);
  if (o.length !== i.length) return false;
  const same = (a: string, b: string) =>
    opts.caseInsensitive ? a.toLowerCase() === b.toLowerCase() : a === b;
  return o.every((piece, k) => (k % 2 === 1 ? same(piece, i[k] ?? '') : glob(piece, i[k] ?? '')));
}

function arnAgrees(
  outer: string,
  inner: string,
  glob: (o: string, i: string) => boolean,
  opts: PatternOptions,
): boolean {
  const o = splitArn(outer);
  const i = splitArn(inner);
  if (!o || !i) return false;
  return SEGMENTS.every((s) => segmentAgrees(o[s], i[s], glob, opts));
}

/**
 * True when every ARN the pattern `inner` stands for is one the pattern `outer` stands for, as IAM matches
 * them: the first five segments one by one (a wildcard never absorbs a `:`), the resource part as a glob
 * (where `*` may match `:`). `"*"` as `outer` covers everything; `"*"` as `inner` is covered only by `"*"`.
 * Anything that is not an ARN is covered by nothing but `"*"`.
 */
export function arnCovers(outer: string, inner: string, opts: PatternOptions = {}): boolean {
  if (outer === '*') return true;
  if (inner === '*') return false;
  return arnAgrees(outer, inner, (o, i) => covers(o, i, opts), opts);
}

/**
 * True when the concrete ARN `arn` (a principal, a target) matches the ARN pattern, segment by segment as
 * in {@link arnCovers}. `"*"` matches everything; a value that is not an ARN matches nothing else.
 */
export function arnMatches(pattern: string, arn: string, opts: PatternOptions = {}): boolean {
  if (pattern === '*') return true;
  return arnAgrees(pattern, arn, (p, v) => matches(p, v, opts), opts);
}

/** A concrete IAM role or user ARN: no wildcards, account id present, optional path. */
const CONCRETE_TARGET_RE = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
/** An IAM role or user ARN pattern (wildcards allowed, as in the config's targets). */
const PRINCIPAL_PATTERN_RE = /^arn:aws[a-z-]*:iam::(?:\d{12}|\*):(?:role|user)\/[\w+=,.@/*?-]+$/;
/** A caller pattern: an IAM user/role or STS assumed-role ARN pattern. */
const CALLER_PATTERN_RE = /^arn:aws[a-z-]*:(?:iam|sts)::(?:\d{12}|\*):(?:user|role|assumed-role)\/.+$/;
/** One IAM or STS principal ARN, without wildcards. */
const CONCRETE_PRINCIPAL_RE = /^arn:aws[a-z-]*:(?:iam|sts)::\d{12}:[\w+=,.@/-]+$/;
/** The path between `role/` (or `user/`) and the name. */
const PATH_RE = /^(arn:[^:]+:iam::[^:]*:(?:role|user)\/).*\/(?=[^/]+$)/;

/** The principal type of a concrete role or user ARN (a request's target), or undefined when it is not one. */
export function concreteTargetType(arn: string): 'role' | 'user' | undefined {
  return CONCRETE_TARGET_RE.exec(arn)?.[1] as 'role' | 'user' | undefined;
}

/** True for an IAM role or user ARN pattern (a config target or protected principal). */
export function isPrincipalPattern(pattern: string): boolean {
  return PRINCIPAL_PATTERN_RE.test(pattern);
}

/** True for a caller pattern: an IAM user/role or STS assumed-role ARN pattern (requesters, approvers). */
export function isCallerPattern(pattern: string): boolean {
  return CALLER_PATTERN_RE.test(pattern);
}

/** True for one IAM or STS principal ARN without wildcards (a Slack user's approver identity). */
export function isConcretePrincipal(arn: string): boolean {
  return CONCRETE_PRINCIPAL_RE.test(arn);
}

/**
 * The ARN of the principal the broker actually writes to. The IAM port addresses a role or user by name
 * alone (IAM names are unique per account whatever the path), so a path in a request is unverified and
 * must not decide which principal is touched: `role/app-x/Admin` is the role named `Admin`.
 */
export function withoutPath(arn: string): string {
  return arn.replace(PATH_RE, '$1');
}
