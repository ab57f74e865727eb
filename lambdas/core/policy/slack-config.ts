import * as z from 'zod/mini';
import type { FieldIssue } from '../errors.ts';
import { arnMatches, isConcretePrincipal, splitArn } from '../principals.ts';

/** Slack user ids: `U…`, or `W…` on Enterprise Grid. */
export const SLACK_USER_RE = /^[UW][A-Z0-9]{2,30}$/;
/** Channel ids (`C…` public, `G…` private). Ids, not names: an id survives a rename. */
export const SLACK_CHANNEL_RE = /^[CG][A-Z0-9]{2,30}$/;
/** Prefix of the identity an unmapped Slack user would have (never an approver: patterns are ARNs). */
export const SLACK_APPROVER_PREFIX = 'slack:';
const SECRET_NAME_RE = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

const channelId = z.string().check(z.regex(SLACK_CHANNEL_RE, 'must be a Slack channel id (C… or G…)'));
const userId = z.string().check(z.regex(SLACK_USER_RE, 'must be a Slack user id (U… or W…)'));
const secretName = z.string().check(z.regex(SECRET_NAME_RE, 'must be a Secrets Manager secret name'));

const slackUserSchema = z.strictObject({
  /** The IAM principal ARN this person approves as (exact, no wildcard); their votes count under it. */
  approver: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  /** IAM principal ARN patterns this person requests as: they never decide on those requests. */
  requester: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(2048)))),
});

/** The optional `slack` section of the policy config. */
export const slackConfigSchema = z.strictObject({
  /** Channel for request cards of rules without their own channel. No channel: no card. */
  defaultChannel: z.optional(channelId),
  /** Channel per rule id. */
  channels: z._default(z.record(z.string(), channelId), {}),
  /** Where break-glass grants are announced (a card kept current until revoke). No channel: SNS only. */
  securityChannel: z.optional(channelId),
  /** Who a Slack user is in IAM, by Slack user id. */
  users: z._default(z.record(userId, slackUserSchema), {}),
  /** @default `<stack name>/slack/signing-secret` */
  signingSecretName: z.optional(secretName),
  /** @default `<stack name>/slack/bot-token` */
  botTokenSecretName: z.optional(secretName),
});

/** The validated `slack` section. */
export type SlackConfig = z.output<typeof slackConfigSchema>;

/** The shape of a rule this module looks at (kept structural to avoid a cycle with policy-config). */
interface RuleView {
  readonly id: string;
  readonly approval: 'auto' | { readonly approvers: readonly string[] };
}

/**
 * Cross-field checks of the `slack` section: channels name known rules, an approver mapping is one
 * concrete principal, and a person has one identity only (a mapped user may not also appear in a rule as
 * `slack:<id>`, or the same human could count twice towards a quorum).
 */
export function slackConfigIssues(slack: SlackConfig, rules: readonly RuleView[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const push = (field: string, message: string) => issues.push({ field, message });
  const ruleIds = new Set(rules.map((r) => r.id));
  for (const ruleId of Object.keys(slack.channels)) {
    if (!ruleIds.has(ruleId)) push(`slack.channels.${ruleId}`, 'names no rule of this config');
  }
  for (const [id, user] of Object.entries(slack.users)) {
    if (user.approver !== undefined && !isConcretePrincipal(user.approver)) {
      push(`slack.users.${id}.approver`, 'must be one IAM/STS principal ARN without wildcards');
    }
    // These patterns keep a person from deciding on their own requests: one that is not a principal ARN
    // pattern would match nobody, silently.
    (user.requester ?? []).forEach((p, i) => {
      const parts = splitArn(p);
      if (!parts || (parts.service !== 'iam' && parts.service !== 'sts')) {
        push(`slack.users.${id}.requester[${i}]`, 'must be an IAM/STS principal ARN pattern');
      }
    });
  }
  // Rule approvers are principal ARN patterns only (policy-config checks them): a Slack user approves as
  // the principal mapped here, so one person has one identity for self-approval and quorum.
  return issues;
}

/** The channel a rule's request cards go to, if any. */
export function channelFor(slack: SlackConfig | undefined, ruleId: string): string | undefined {
  return slack ? (slack.channels[ruleId] ?? slack.defaultChannel) : undefined;
}

/**
 * The identity a Slack user decides as: the mapped IAM principal, else `slack:<user id>` (which only a
 * rule listing that exact entry accepts). One person, one identity, so quorum counts people.
 */
export function slackIdentity(slack: SlackConfig | undefined, slackUserId: string): string {
  return slack?.users[slackUserId]?.approver ?? `${SLACK_APPROVER_PREFIX}${slackUserId}`;
}

/** True when the Slack user is (per the config) the person who made a request from `requester`. */
export function isSlackRequester(
  slack: SlackConfig | undefined,
  slackUserId: string,
  requester: string,
): boolean {
  const user = slack?.users[slackUserId];
  if (!user) return false;
  return user.approver === requester || (user.requester ?? []).some((p) => arnMatches(p, requester));
}

/** The Slack user behind an IAM principal or `slack:` identity, for mentions on the card. */
export function slackUserOf(slack: SlackConfig | undefined, principal: string): string | undefined {
  if (principal.startsWith(SLACK_APPROVER_PREFIX)) return principal.slice(SLACK_APPROVER_PREFIX.length);
  if (!slack) return undefined;
  const users = Object.entries(slack.users);
  return (
    users.find(([, user]) => user.approver === principal)?.[0] ??
    users.find(([, user]) => (user.requester ?? []).some((p) => arnMatches(p, principal)))?.[0]
  );
}

/**
 * When the approval window closes as the card states it. Step Functions starts its timer when the task is
 * scheduled, a little before the PENDING_APPROVAL write, so the card's deadline keeps a margin (10% of the
 * window, at most 10 s): a click the card still accepts reaches a live task token.
 */
export function approvalWindowEndsAt(pendingAt: string, windowSeconds: number): string {
  const margin = Math.min(10, windowSeconds / 10);
  return new Date(Date.parse(pendingAt) + (windowSeconds - margin) * 1000).toISOString();
}
