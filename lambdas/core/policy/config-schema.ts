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
  /**
   * Break-glass: granted at once with no approval step (named requesters only, an incident reference and a
   * reason code, at most 1 hour, no extension), announced at once, and reviewed afterwards by two people.
   */
  breakGlass: z._default(z.boolean(), false),
});

/** AWS region names (`eu-west-1`, `us-gov-west-1`). */
const region = z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'must be an AWS region name'));
/** Glue/Athena identifiers. */
const glueName = z
  .string()
  .check(z.regex(/^[a-z0-9_]{1,128}$/, 'must be 1-128 lower-case letters, digits or _'));
const s3Uri = z
  .string()
  .check(z.regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 'must be an s3:// URI'));

/** Athena over the organization trail in S3: the only place data events (s3:GetObject, …) are. */
const athenaSchema = z.strictObject({
  database: z._default(glueName, 'jit_audit'),
  table: z._default(glueName, 'cloudtrail'),
  workgroup: z._default(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,128}$/)), 'primary'),
  /** Where Athena writes query results (`s3://bucket/prefix/`). */
  outputLocation: s3Uri,
  /**
   * The organization trail's log prefix, up to and including the organization id
   * (`s3://org-trail-bucket/AWSLogs/o-abc123def4`). Present: the stateful stack creates the Glue table with
   * partition projection over it (account, region, date); absent: the table exists already.
   */
  trailLocation: z.optional(s3Uri),
  /** The first day the projection covers (`yyyy/MM/dd`). */
  projectionStartDate: z._default(z.string().check(z.regex(/^\d{4}\/\d{2}\/\d{2}$/)), '2025/01/01'),
});

/** The CloudTrail audit review (README "Audit review"). */
const auditSchema = z.strictObject({
  /** Principal patterns who may read any request and any review, and list requests across requesters. */
  auditors: z._default(z.array(nonEmpty), []),
  /** Regions whose CloudTrail event history the review reads (default: the broker's region and us-east-1). */
  regions: z.optional(z.array(region).check(z.minLength(1), z.maxLength(20))),
  /** How long CloudTrail may take to deliver a record (the review stays provisional until then). */
  deliveryDelaySeconds: z._default(z.int().check(z.gte(0), z.lte(86_400)), 900),
  athena: z.optional(athenaSchema),
});

/** Break-glass reviews (rules with `breakGlass: true`). */
const breakGlassSchema = z.strictObject({
  /** Who may review a break-glass grant (principal patterns; two distinct people review, never the requester). */
  reviewers: z.array(nonEmpty).check(z.minLength(1)),
  /** Hours after the revoke before a missing review alarms and suspends the requester's break-glass. */
  reviewOverdueHours: z._default(z.int().check(z.gte(1), z.lte(720)), 24),
  /** Reason codes a break-glass request may give. */
  reasonCodes: z._default(z.array(nonEmpty).check(z.minLength(1)), [
    'outage',
    'security-incident',
    'data-loss',
    'other',
  ]),
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
  /** The CloudTrail audit review: auditors, regions, Athena; absent: defaults (no auditors, no Athena). */
  audit: z._default(auditSchema, { auditors: [], deliveryDelaySeconds: 900 }),
  /** Break-glass reviewers; required when a rule has `breakGlass: true`. */
  breakGlass: z.optional(breakGlassSchema),
  /** Deploy the grantor with one service-managed StackSet to these OUs (from the management account). */
  grantorStackSet: z.optional(grantorStackSetSchema),
});

/** The policy-as-code config as written by the operator. */
export type PolicyConfigInput = z.input<typeof configSchema>;
/** One eligibility rule after validation and defaults. */
export type Rule = z.output<typeof ruleSchema>;
/** Approval requirement of a rule: automatic, or `minApprovals` distinct approvers. */
export type Approval = Rule['approval'];
/** The audit review settings after defaults. */
export type AuditSettings = z.output<typeof auditSchema>;
/** Athena settings after defaults. */
export type AthenaSettings = z.output<typeof athenaSchema>;
/** Break-glass settings after defaults. */
export type BreakGlassSettings = z.output<typeof breakGlassSchema>;
/** A rule's extension settings after defaults. */
export type ExtensionSettings = Rule['extension'];

/** The validated config: defaults applied, deny list merged with the built-in one. */
export interface PolicyConfig extends Omit<z.output<typeof configSchema>, 'globalDenyActions'> {
  readonly globalDenyActions: readonly string[];
}
