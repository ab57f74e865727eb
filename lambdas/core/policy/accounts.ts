/**
 * The target accounts of a multi-account installation: which accounts the broker may grant in, and the
 * grantor role it assumes in each. Without an `accounts` list the broker grants in its own account only,
 * as before; with one, every target lives in a listed account and is reached through that account's
 * grantor role (the hub account too, when it is listed: one code path).
 */
import { accountOf, splitArn } from '../principals.ts';
import type { PolicyConfig } from './config-schema.ts';

/** The grantor role's name when the config names none. */
export const DEFAULT_GRANTOR_ROLE_NAME = 'JitGrantor';

/** A 12-digit AWS account id. */
export const ACCOUNT_ID_RE = /^\d{12}$/;
/** An IAM role name (no path). */
export const ROLE_NAME_RE = /^[\w+=,.@-]{1,64}$/;
/** An STS ExternalId: 2-1224 characters of the set STS accepts. */
export const EXTERNAL_ID_RE = /^[\w+=,.@:/-]{2,1224}$/;
/** An AWS Organizations organization id. */
export const ORGANIZATION_ID_RE = /^o-[a-z0-9]{10,32}$/;
/** An organizational unit id. */
export const OU_ID_RE = /^ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/;
/** An AWS region name. */
export const REGION_RE = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

/** One listed target account with its grantor role name resolved. */
export interface ListedAccount {
  readonly id: string;
  readonly name?: string;
  readonly grantorRoleName: string;
}

type AccountsConfig = Pick<PolicyConfig, 'accounts' | 'grantorRoleName'>;

/** The listed target accounts, each with the name of its grantor role; empty without an `accounts` list. */
export function listedAccounts(config: AccountsConfig): ListedAccount[] {
  const fallback = config.grantorRoleName ?? DEFAULT_GRANTOR_ROLE_NAME;
  return (config.accounts ?? []).map((a) => ({
    id: a.id,
    ...(a.name === undefined ? {} : { name: a.name }),
    grantorRoleName: a.grantorRoleName ?? fallback,
  }));
}

/**
 * The accounts the broker may grant in: the listed ones, or, without a list, the one concrete account of
 * the targets (none when no target names one).
 */
export function targetAccounts(config: AccountsConfig & Pick<PolicyConfig, 'rules'>): string[] {
  if (config.accounts) return listedAccounts(config).map((a) => a.id);
  const first = config.rules.flatMap((r) => r.targets).map(accountOf)[0];
  return first ? [first] : [];
}

/**
 * The ARN of the grantor role in a listed account. Throws for an account the config does not list: the
 * broker never assumes a role it was not configured to.
 */
export function grantorRoleArn(config: AccountsConfig, accountId: string, partition = 'aws'): string {
  const account = listedAccounts(config).find((a) => a.id === accountId);
  if (!account) throw new Error(`account ${accountId} is not listed in the config's accounts`);
  return `arn:${partition}:iam::${accountId}:role/${account.grantorRoleName}`;
}

/**
 * The target patterns as they apply in one account: those naming that account, and those naming `*` (any
 * listed account) with the account filled in. `account` may be a CloudFormation token (a StackSet's
 * deploying account), in which case only the `*` patterns are rewritten and the concrete ones are kept as
 * they are (IAM calls only ever reach the caller's own account, so another account's ARN is inert).
 */
export function patternsInAccount(
  patterns: readonly string[],
  account: string,
  opts: { keepOtherAccounts?: boolean } = {},
): string[] {
  const out: string[] = [];
  for (const pattern of patterns) {
    const parts = splitArn(pattern);
    if (!parts) continue;
    if (parts.account === '*') {
      out.push(`arn:${parts.partition}:${parts.service}:${parts.region}:${account}:${parts.resource}`);
    } else if (parts.account === account || opts.keepOtherAccounts) {
      out.push(pattern);
    }
  }
  return [...new Set(out)];
}
