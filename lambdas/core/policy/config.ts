import type * as z from 'zod/mini';
import { ConfigError, type FieldIssue } from '../errors.ts';
import { kindOf } from '../grants/registry.ts';
import { hasWildcard, overlaps } from '../patterns.ts';
import { accountOf, isCallerPattern, isPrincipalPattern, splitArn } from '../principals.ts';
import { parseWith } from '../schema.ts';
import {
  ACCOUNT_ID_RE,
  EXTERNAL_ID_RE,
  ORGANIZATION_ID_RE,
  OU_ID_RE,
  REGION_RE,
  ROLE_NAME_RE,
} from './accounts.ts';
import {
  type Approval,
  configSchema,
  type PolicyConfig,
  type PolicyConfigInput,
  type Rule,
} from './config-schema.ts';
import { slackConfigIssues } from './slack-config.ts';

export type { Approval, PolicyConfig, PolicyConfigInput, Rule };

/** Actions no grant may ever hold, whatever the config says: the config can only add to these. */
export const DEFAULT_DENIED_ACTIONS = ['*', 'iam:*', 'sts:*', 'organizations:*', 'account:*'] as const;

/** An extension reason code: lower-case words joined by `-` (`work-not-finished`). */
const REASON_CODE_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const REASON_CODE_MESSAGE = 'must be lower-case letters and digits joined by "-" (e.g. "work-not-finished")';

/** `service:Action` with optional `*`/`?` in the action part. */
export const ACTION_RE = /^(?:\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$/;

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
    if (!isPrincipalPattern(p)) push(`protectedPrincipals[${i}]`, 'must be an IAM role or user ARN pattern');
  });
  for (const [name, patterns] of Object.entries(c.people)) {
    if (!PERSON_NAME_RE.test(name)) push(`people.${name}`, 'must be 1-64 letters, digits, ., _, @ or -');
    patterns.forEach((p, i) => {
      if (!isCallerPattern(p)) push(`people.${name}[${i}]`, CALLER_MESSAGE);
    });
  }
  c.audit.auditors.forEach((p, i) => {
    if (!isCallerPattern(p)) push(`audit.auditors[${i}]`, CALLER_MESSAGE);
  });
  c.breakGlass?.reviewers.forEach((p, i) => {
    if (!isCallerPattern(p)) push(`breakGlass.reviewers[${i}]`, CALLER_MESSAGE);
  });
  c.breakGlass?.reasonCodes.forEach((code, i) => {
    if (!REASON_CODE_RE.test(code)) push(`breakGlass.reasonCodes[${i}]`, REASON_CODE_MESSAGE);
  });
  c.extensionReasonCodes.forEach((code, i) => {
    if (!REASON_CODE_RE.test(code)) push(`extensionReasonCodes[${i}]`, REASON_CODE_MESSAGE);
  });
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
    for (const issue of kindOf(rule.kind).ruleIssues(rule)) push(`${at}.${issue.field}`, issue.message);
    (rule.extension.reasonCodes ?? []).forEach((code, i) => {
      if (!REASON_CODE_RE.test(code)) push(`${at}.extension.reasonCodes[${i}]`, REASON_CODE_MESSAGE);
    });
    rule.targets.forEach((t, i) => {
      if (!isPrincipalPattern(t)) {
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
      if (!isCallerPattern(p)) push(`${at}.requesters[${i}]`, CALLER_MESSAGE);
    });
    if (rule.approval !== 'auto') {
      rule.approval.approvers.forEach((p, i) => {
        if (!isCallerPattern(p)) {
          push(
            `${at}.approval.approvers[${i}]`,
            `${CALLER_MESSAGE} (Slack users approve as the principal mapped in slack.users.<id>.approver)`,
          );
        }
      });
    }
    if (rule.breakGlass) issues.push(...breakGlassRuleIssues(c, rule, at));
    if (c.accounts) {
      // Every target lives in a listed account, reached through that account's grantor role.
      const listed = new Set(c.accounts.map((a) => a.id));
      rule.targets.forEach((t, i) => {
        const account = splitArn(t)?.account;
        if (account !== undefined && account !== '*' && !listed.has(account)) {
          push(`${at}.targets[${i}]`, `is in account ${account}, which "accounts" does not list`);
        }
      });
    } else {
      // Without an accounts list, grants are written by name in the broker's own account: a target must
      // name one concrete account.
      rule.targets.forEach((t, i) => {
        if (splitArn(t)?.account === '*') {
          push(
            `${at}.targets[${i}]`,
            `must name the broker's account ("*" means any listed account: list them in "accounts")`,
          );
        }
      });
    }
  });
  if (c.accounts) {
    issues.push(...accountIssues(c));
  } else {
    const accounts = new Set(c.rules.flatMap((r) => r.targets).map(accountOf));
    accounts.delete(undefined);
    if (accounts.size > 1) {
      push(
        'rules',
        `targets span several accounts (${[...accounts].join(', ')}); the broker grants in its own account only unless "accounts" lists them`,
      );
    }
    for (const field of [
      'externalId',
      'organizationId',
      'grantorRoleName',
      'grantorStackSet',
      'hubAccountId',
    ] as const) {
      if (c[field] !== undefined) push(field, 'applies to listed accounts only: set "accounts" too');
    }
  }
  return issues;
}

/** The multi-account settings: account ids, grantor role names, ExternalId, organization, StackSet. */
function accountIssues(c: z.output<typeof configSchema>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const push = (field: string, message: string) => issues.push({ field, message });
  const seen = new Set<string>();
  (c.accounts ?? []).forEach((a, i) => {
    if (!ACCOUNT_ID_RE.test(a.id)) push(`accounts[${i}].id`, 'must be a 12-digit AWS account id');
    else if (seen.has(a.id)) push(`accounts[${i}].id`, `duplicates account ${a.id}`);
    seen.add(a.id);
    if (a.grantorRoleName !== undefined && !ROLE_NAME_RE.test(a.grantorRoleName)) {
      push(`accounts[${i}].grantorRoleName`, ROLE_NAME_MESSAGE);
    }
    if (c.grantorStackSet && (a.grantorRoleName ?? c.grantorRoleName) !== c.grantorRoleName) {
      push(
        `accounts[${i}].grantorRoleName`,
        'must equal grantorRoleName: the grantor StackSet deploys one role name everywhere',
      );
    }
  });
  if (c.grantorRoleName !== undefined && !ROLE_NAME_RE.test(c.grantorRoleName)) {
    push('grantorRoleName', ROLE_NAME_MESSAGE);
  }
  if (c.hubAccountId !== undefined && !ACCOUNT_ID_RE.test(c.hubAccountId)) {
    push('hubAccountId', 'must be a 12-digit AWS account id');
  }
  if (c.externalId === undefined) {
    push('externalId', 'is required with "accounts": the grantor roles trust only callers that present it');
  } else if (!EXTERNAL_ID_RE.test(c.externalId)) {
    push('externalId', 'must be 2-1224 characters of letters, digits and +=,.@:/-_');
  }
  if (c.organizationId !== undefined && !ORGANIZATION_ID_RE.test(c.organizationId)) {
    push('organizationId', 'must be an organization id (o- then 10-32 lowercase letters or digits)');
  }
  if (c.grantorStackSet) {
    const ous = c.grantorStackSet.organizationalUnitIds;
    ous.forEach((ou, i) => {
      if (!OU_ID_RE.test(ou)) {
        push(`grantorStackSet.organizationalUnitIds[${i}]`, 'must be an organizational unit id (ou-…)');
      }
    });
    if (new Set(ous).size !== ous.length) {
      push('grantorStackSet.organizationalUnitIds', 'lists an organizational unit twice');
    }
    const regions = c.grantorStackSet.regions;
    regions.forEach((r, i) => {
      if (!REGION_RE.test(r)) push(`grantorStackSet.regions[${i}]`, 'must be an AWS region (eu-west-1)');
    });
    if (regions.length !== 1) {
      push(
        'grantorStackSet.regions',
        'must name exactly one region: IAM is global, a second region would create the same role again',
      );
    }
  }
  return issues;
}

const ROLE_NAME_MESSAGE = 'must be an IAM role name (1-64 letters, digits and +=,.@_-)';
const CALLER_MESSAGE = 'must be an IAM user/role or STS assumed-role ARN pattern';

/** Break-glass grants are capped at one hour. */
export const BREAK_GLASS_MAX_SECONDS = 3600;

/**
 * A break-glass rule names its requesters one by one (no wildcard in the name part: whoever may skip
 * approval is a known person), is capped at one hour, has no extension and needs the reviewers section.
 */
function breakGlassRuleIssues(
  c: z.output<typeof configSchema>,
  rule: z.output<typeof configSchema>['rules'][number],
  at: string,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  rule.requesters.forEach((p, i) => {
    const name = p.slice(p.lastIndexOf('/') + 1);
    if (hasWildcard(name) || !p.includes('/')) {
      issues.push({
        field: `${at}.requesters[${i}]`,
        message: 'break-glass requesters are named principals: no wildcard in the name part',
      });
    }
  });
  if (rule.maxDurationSeconds > BREAK_GLASS_MAX_SECONDS) {
    issues.push({
      field: `${at}.maxDurationSeconds`,
      message: `break-glass grants last at most ${BREAK_GLASS_MAX_SECONDS} seconds`,
    });
  }
  if (rule.approval !== 'auto') {
    issues.push({ field: `${at}.approval`, message: 'break-glass rules have no approval step: set "auto"' });
  }
  if (rule.extension.maxExtensions !== 0) {
    issues.push({
      field: `${at}.extension.maxExtensions`,
      message: 'break-glass grants cannot be extended: set 0 (ask again after the review)',
    });
  }
  if (!c.breakGlass) {
    issues.push({
      field: 'breakGlass',
      message: `rule ${rule.id} is break-glass: list breakGlass.reviewers`,
    });
  }
  return issues;
}
/** A person's name in the `people` map. */
const PERSON_NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;

/**
 * The single account of the config's targets when it lists no `accounts` (undefined when there are no
 * targets, or when it lists accounts: then targets may be in any of them).
 */
export function targetAccount(config: Pick<PolicyConfig, 'rules' | 'accounts'>): string | undefined {
  if (config.accounts) return undefined;
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
