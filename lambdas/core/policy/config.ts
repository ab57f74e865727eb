import * as z from 'zod/mini';
import { ConfigError, type FieldIssue } from '../errors.ts';
import { ROLE_CHAINING_MAX_SECONDS } from '../grants/sts-credentials/sessions.ts';
import { hasWildcard, overlaps } from '../patterns.ts';
import { accountOf, splitArn } from '../principals.ts';
import { parseWith } from '../schema.ts';
import { slackConfigIssues, slackConfigSchema } from './slack-config.ts';

/** Actions no grant may ever hold, whatever the config says: the config can only add to these. */
export const DEFAULT_DENIED_ACTIONS = ['*', 'iam:*', 'sts:*', 'organizations:*', 'account:*'] as const;

/** `service:Action` with optional `*`/`?` in the action part. */
export const ACTION_RE = /^(?:\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$/;
/** An IAM role or user ARN pattern (wildcards allowed in config, not in requests). */
export const PRINCIPAL_PATTERN_RE = /^arn:aws[a-z-]*:iam::(?:\d{12}|\*):(?:role|user)\/[\w+=,.@/*?-]+$/;

const nonEmpty = z.string().check(z.minLength(1), z.maxLength(2048));
const seconds = z.int().check(z.positive());

const approvalSchema = z.union([
  z.literal('auto'),
  z.strictObject({
    approvers: z.array(nonEmpty).check(z.minLength(1)),
    minApprovals: z._default(z.int().check(z.gte(1), z.lte(10)), 1),
  }),
]);

const ruleSchema = z.strictObject({
  id: z.string().check(z.regex(/^[a-zA-Z0-9-_]{1,64}$/, 'must be 1-64 letters, digits, - or _')),
  description: z.optional(z.string()),
  requesters: z.array(nonEmpty).check(z.minLength(1)),
  targets: z.array(nonEmpty).check(z.minLength(1)),
  actions: z.array(nonEmpty).check(z.minLength(1)),
  resources: z.array(nonEmpty).check(z.minLength(1)),
  maxDurationSeconds: seconds,
  approval: approvalSchema,
  /** `policy`: an inline policy on the target; `credentials`: STS credentials on the target role. */
  kind: z._default(z.enum(['policy', 'credentials']), 'policy'),
});

const configSchema = z.strictObject({
  approvalWindowSeconds: z._default(seconds, 3600),
  defaultDurationSeconds: z._default(seconds, 900),
  minDurationSeconds: z._default(seconds, 60),
  maxDurationSeconds: z._default(seconds, 43_200),
  globalDenyActions: z._default(z.array(nonEmpty), []),
  protectedPrincipals: z._default(z.array(nonEmpty), []),
  rules: z.array(ruleSchema).check(z.minLength(1)),
  /** Slack approvals (request cards, signed button callbacks); absent: API approvals only. */
  slack: z.optional(slackConfigSchema),
  /** Person name → the principal ARN patterns of that one person (self-approval and quorum, see people.ts). */
  people: z._default(z.record(z.string(), z.array(nonEmpty).check(z.minLength(1))), {}),
});

/** The policy-as-code config as written by the operator. */
export type PolicyConfigInput = z.input<typeof configSchema>;
/** One eligibility rule after validation and defaults. */
export type Rule = z.output<typeof ruleSchema>;
/** Approval requirement of a rule: automatic, or `minApprovals` distinct approvers. */
export type Approval = Rule['approval'];

/** The validated config: defaults applied, deny list merged with the built-in one. */
export interface PolicyConfig extends Omit<z.output<typeof configSchema>, 'globalDenyActions'> {
  readonly globalDenyActions: readonly string[];
}

/** True when a requested action pattern could reach a globally denied action. */
export function deniedBy(action: string, denyList: readonly string[]): string | undefined {
  const [service = '', name = ''] = action.split(':');
  for (const deny of denyList) {
    if (deny === '*') {
      // The bare `*` entry forbids any action whose service part is open: `*`, `*:Get*`, `s?:List`.
      if (action === '*' || hasWildcard(service)) return deny;
      continue;
    }
    const [dService = '', dName = ''] = deny.split(':');
    if (
      overlaps(dService, service, { caseInsensitive: true }) &&
      overlaps(dName, name, { caseInsensitive: true })
    ) {
      return deny;
    }
  }
  return undefined;
}

function semanticIssues(c: z.output<typeof configSchema>, denyList: readonly string[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const push = (field: string, message: string) => issues.push({ field, message });
  if (c.minDurationSeconds > c.maxDurationSeconds)
    push('minDurationSeconds', 'must not exceed maxDurationSeconds');
  if (c.defaultDurationSeconds < c.minDurationSeconds || c.defaultDurationSeconds > c.maxDurationSeconds) {
    push('defaultDurationSeconds', 'must lie between minDurationSeconds and maxDurationSeconds');
  }
  c.globalDenyActions.forEach((a, i) => {
    if (!ACTION_RE.test(a))
      push(`globalDenyActions[${i}]`, 'must look like "service:Action" (wildcards allowed)');
  });
  c.protectedPrincipals.forEach((p, i) => {
    if (!PRINCIPAL_PATTERN_RE.test(p))
      push(`protectedPrincipals[${i}]`, 'must be an IAM role or user ARN pattern');
  });
  for (const [name, patterns] of Object.entries(c.people)) {
    if (!PERSON_NAME_RE.test(name)) push(`people.${name}`, 'must be 1-64 letters, digits, ., _, @ or -');
    patterns.forEach((p, i) => {
      if (!CALLER_PATTERN_RE.test(p)) push(`people.${name}[${i}]`, CALLER_MESSAGE);
    });
  }
  const seen = new Set<string>();
  c.rules.forEach((rule, r) => {
    const at = `rules[${r}]`;
    if (seen.has(rule.id)) push(`${at}.id`, `duplicates rule id "${rule.id}"`);
    seen.add(rule.id);
    if (rule.maxDurationSeconds > c.maxDurationSeconds || rule.maxDurationSeconds < c.minDurationSeconds) {
      push(
        `${at}.maxDurationSeconds`,
        `must lie between ${c.minDurationSeconds} and ${c.maxDurationSeconds}`,
      );
    }
    if (rule.kind === 'credentials' && rule.maxDurationSeconds > ROLE_CHAINING_MAX_SECONDS) {
      push(
        `${at}.maxDurationSeconds`,
        `credentials rules are capped at ${ROLE_CHAINING_MAX_SECONDS} seconds (STS role chaining)`,
      );
    }
    rule.targets.forEach((t, i) => {
      if (rule.kind === 'credentials' && !t.includes(':role/')) {
        push(`${at}.targets[${i}]`, 'credentials rules target roles (the broker assumes them)');
      }
      if (!PRINCIPAL_PATTERN_RE.test(t)) {
        push(
          `${at}.targets[${i}]`,
          'must be an IAM role or user ARN pattern (arn:aws:iam::<account>:role/<name>)',
        );
      }
    });
    rule.actions.forEach((a, i) => {
      if (!ACTION_RE.test(a))
        push(`${at}.actions[${i}]`, 'must look like "service:Action" (wildcards allowed)');
      else {
        const hit = deniedBy(a, denyList);
        if (hit) push(`${at}.actions[${i}]`, `"${a}" overlaps the global deny list entry "${hit}"`);
      }
    });
    rule.resources.forEach((res, i) => {
      // IAM reads ARNs segment by segment; a pattern with fewer segments would cover nothing at all.
      if (res !== '*' && !splitArn(res)) {
        push(
          `${at}.resources[${i}]`,
          'must be an ARN pattern (arn:partition:service:region:account:resource) or "*"',
        );
      }
    });
    // Approvers are people behind IAM/STS principals: anything else (a bare "*", a "slack:" id) could
    // match identities that escape the one-person-one-identity rule of self-approval and quorum.
    rule.requesters.forEach((p, i) => {
      if (!CALLER_PATTERN_RE.test(p)) push(`${at}.requesters[${i}]`, CALLER_MESSAGE);
    });
    if (rule.approval !== 'auto') {
      rule.approval.approvers.forEach((p, i) => {
        if (!CALLER_PATTERN_RE.test(p)) {
          push(
            `${at}.approval.approvers[${i}]`,
            `${CALLER_MESSAGE} (Slack users approve as the principal mapped in slack.users.<id>.approver)`,
          );
        }
      });
    }
    // Grants are written by name in the broker's own account: a target must name one concrete account.
    rule.targets.forEach((t, i) => {
      if (splitArn(t)?.account === '*') {
        push(
          `${at}.targets[${i}]`,
          "must name the broker's account (cross-account targets are not supported)",
        );
      }
    });
  });
  const accounts = new Set(c.rules.flatMap((r) => r.targets).map(accountOf));
  accounts.delete(undefined);
  if (accounts.size > 1) {
    push(
      'rules',
      `targets span several accounts (${[...accounts].join(', ')}); the broker grants in its own account only`,
    );
  }
  return issues;
}

/** A caller (requester or approver) pattern: an IAM user/role or STS assumed-role ARN pattern. */
const CALLER_PATTERN_RE = /^arn:aws[a-z-]*:(?:iam|sts)::(?:\d{12}|\*):(?:user|role|assumed-role)\/.+$/;
const CALLER_MESSAGE = 'must be an IAM user/role or STS assumed-role ARN pattern';
/** A person's name in the `people` map. */
const PERSON_NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;

/** The single account of the config's targets (undefined when there are no targets). */
export function targetAccount(config: Pick<PolicyConfig, 'rules'>): string | undefined {
  return config.rules.flatMap((r) => r.targets).map(accountOf)[0];
}

/**
 * Validates a policy config (from a file, a module or the Lambda bundle) and applies defaults.
 * Throws ConfigError naming every field at fault.
 */
export function parsePolicyConfig(input: unknown): PolicyConfig {
  const parsed = parseWith(
    configSchema,
    input,
    (issues) => new ConfigError(`invalid policy config: ${formatIssues(issues)}`, issues),
  );
  const globalDenyActions = [...new Set([...DEFAULT_DENIED_ACTIONS, ...parsed.globalDenyActions])];
  const issues = semanticIssues(parsed, globalDenyActions);
  if (parsed.slack) issues.push(...slackConfigIssues(parsed.slack, parsed.rules));
  if (issues.length > 0) throw new ConfigError(`invalid policy config: ${formatIssues(issues)}`, issues);
  return { ...parsed, globalDenyActions };
}

/** One line per issue, `field: message`. */
export function formatIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('; ');
}

/** Identity helper so a TypeScript config file gets completion and type checks. */
export function defineConfig(config: PolicyConfigInput): PolicyConfigInput {
  return config;
}
