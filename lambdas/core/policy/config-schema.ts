/**
 * The shape of the policy-as-code config: its schema and the types derived from it. Split from
 * `config.ts` (which checks what a schema cannot) so the ports can name the config type without
 * depending on the checks, and so on the grant kinds.
 */
import * as z from 'zod/mini';
import { GRANT_KINDS } from '../grants/kinds.ts';
import { slackConfigSchema } from './slack-config.ts';

const nonEmpty = z.string().check(z.minLength(1), z.maxLength(2048));
const seconds = z.int().check(z.positive());

const approvalSchema = z.union([
  z.literal('auto'),
  z.strictObject({
    approvers: z.array(nonEmpty).check(z.minLength(1)),
    minApprovals: z._default(z.int().check(z.gte(1), z.lte(10)), 1),
  }),
]);

/** Reason codes an extension may give when neither the rule nor the config lists its own. */
export const DEFAULT_EXTENSION_REASON_CODES = [
  'work-not-finished',
  'incident-ongoing',
  'waiting-on-dependency',
  'other',
] as const;

/** How a grant of a rule may be extended (DESIGN.md "Request lifecycle": a child request that `extends`). */
const extensionSchema = z.strictObject({
  /** How many extensions one chain may have (0: none). */
  maxExtensions: z._default(z.int().check(z.gte(0), z.lte(10)), 2),
  /** The share of the grant's TTL after which extending is allowed (0.75: in the last 25%). */
  openAt: z._default(z.number().check(z.gte(0), z.lt(1)), 0.75),
  /** `rule`: decided like any request of the rule (quorum, no self-approval); `auto`: approved at once. */
  approval: z._default(z.enum(['rule', 'auto']), 'rule'),
  /** The reason codes an extension of this rule may give; absent: the config's `extensionReasonCodes`. */
  reasonCodes: z.optional(z.array(nonEmpty).check(z.minLength(1))),
});

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
  kind: z._default(z.enum(GRANT_KINDS), 'policy'),
  /** Extensions of this rule's grants; every field has a default, so absent means the defaults. */
  extension: z.prefault(extensionSchema, {}),
});

const accountSchema = z.strictObject({
  /** The 12-digit account id. */
  id: z.string(),
  /** A label for people (logs, README), never used to address the account. */
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  /** This account's grantor role name, when it differs from the top-level `grantorRoleName`. */
  grantorRoleName: z.optional(z.string()),
});

const grantorStackSetSchema = z.strictObject({
  /** The organizational units the StackSet deploys the grantor to (automatic deployment). */
  organizationalUnitIds: z.array(z.string()).check(z.minLength(1)),
  /** Where the stack instances go: IAM is global, so exactly one region. */
  regions: z.array(z.string()).check(z.minLength(1)),
});

export const configSchema = z.strictObject({
  approvalWindowSeconds: z._default(seconds, 3600),
  defaultDurationSeconds: z._default(seconds, 900),
  minDurationSeconds: z._default(seconds, 60),
  maxDurationSeconds: z._default(seconds, 43_200),
  globalDenyActions: z._default(z.array(nonEmpty), []),
  protectedPrincipals: z._default(z.array(nonEmpty), []),
  rules: z.array(ruleSchema).check(z.minLength(1)),
  /** The reason codes of an extension, for rules that do not list their own. */
  extensionReasonCodes: z._default(z.array(nonEmpty).check(z.minLength(1)), [
    ...DEFAULT_EXTENSION_REASON_CODES,
  ]),
  /** Slack approvals (request cards, signed button callbacks); absent: API approvals only. */
  slack: z.optional(slackConfigSchema),
  /** Person name → the principal ARN patterns of that one person (self-approval and quorum, see people.ts). */
  people: z._default(z.record(z.string(), z.array(nonEmpty).check(z.minLength(1))), {}),
  /**
   * Every target account (the hub may be one). Absent: targets live in the broker's own account. Present:
   * targets may name any listed account (`*` = any listed account), reached through its grantor role.
   */
  accounts: z.optional(z.array(accountSchema).check(z.minLength(1))),
  /** The grantor role's name in every listed account (per-account override: `accounts[i].grantorRoleName`). */
  grantorRoleName: z.optional(z.string()),
  /**
   * The account the broker (hub) runs in: the grantor roles trust its function roles. Optional with
   * `accounts` (`cdk synth -c hubAccount=<id>` or the hub's credentials also say it); ignored without.
   */
  hubAccountId: z.optional(z.string()),
  /** The `sts:ExternalId` the grantor roles require; required with `accounts`. */
  externalId: z.optional(z.string()),
  /** The grantor roles also require `aws:PrincipalOrgID` to equal this organization. */
  organizationId: z.optional(z.string()),
  /**
   * The write-once evidence archive (S3 Object Lock): `governance` (a role with the bypass permission may
   * delete early) or `compliance` (nobody may, the root user included, until the retention ends).
   */
  evidence: z._default(
    z.strictObject({
      mode: z._default(z.enum(['governance', 'compliance']), 'governance'),
      retentionDays: z._default(z.int().check(z.gte(1), z.lte(36_500)), 400),
    }),
    { mode: 'governance', retentionDays: 400 },
  ),
  /** Deploy the grantor with one service-managed StackSet to these OUs (from the management account). */
  grantorStackSet: z.optional(grantorStackSetSchema),
});

/** The policy-as-code config as written by the operator. */
export type PolicyConfigInput = z.input<typeof configSchema>;
/** One eligibility rule after validation and defaults. */
export type Rule = z.output<typeof ruleSchema>;
/** Approval requirement of a rule: automatic, or `minApprovals` distinct approvers. */
export type Approval = Rule['approval'];
/** A rule's extension settings after defaults. */
export type ExtensionSettings = Rule['extension'];

/** The validated config: defaults applied, deny list merged with the built-in one. */
export interface PolicyConfig extends Omit<z.output<typeof configSchema>, 'globalDenyActions'> {
  readonly globalDenyActions: readonly string[];
}
