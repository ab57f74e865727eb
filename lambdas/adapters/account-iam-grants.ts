/**
 * IamGrants across accounts: every call goes to the IAM of the principal's own account, reached through
 * that account's grantor role (`AssumeRole` with the installation's ExternalId and a RoleSessionName naming
 * the function). The grantor's credentials are cached per account until shortly before they expire, and
 * concurrent callers share one AssumeRole. A grantor that cannot be assumed is GrantorUnavailableError,
 * naming the account, the role and what to check.
 */

import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { GrantorUnavailableError, RetryableAwsError } from '#core/errors.ts';
import type { IamGrants, PrincipalRef } from '#core/ports.ts';
import { SdkIamGrants } from './iam-grants.ts';

/** What the broker asks of one account's grantor. */
export interface GrantorTarget {
  readonly account: string;
  readonly roleArn: string;
  readonly externalId: string;
  /** RoleSessionName: names the function (`jit-grant`, `jit-revoke`, `jit-sweeper`) in the account's CloudTrail. */
  readonly sessionName: string;
}

/** One account reached through its grantor: its IAM, until `expiration`. */
export interface GrantorSession {
  readonly iam: IamGrants;
  readonly expiration: Date;
}

/** Assumes one account's grantor (SDK STS in Lambda, the simulated STS locally); throws the service's error. */
export type AssumeGrantor = (target: GrantorTarget) => Promise<GrantorSession>;

/** How {@link AccountIamGrants} reaches the accounts. */
export interface AccountIamGrantsOptions {
  /** The grantor role ARN of a listed account; undefined for an account the config does not list. */
  readonly grantorRoleArn: (account: string) => string | undefined;
  readonly externalId: string;
  readonly sessionName: string;
  readonly assume: AssumeGrantor;
  /** Re-assume this long before the credentials expire. @default 300 */
  readonly refreshBeforeSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** How often a grantor's credentials came from the cache (hits) or from a new AssumeRole (misses). */
export interface GrantorCacheStats {
  hits: number;
  misses: number;
}

interface Entry {
  readonly session: Promise<GrantorSession>;
  /** Epoch ms after which the entry is refreshed; undefined while the AssumeRole is in flight. */
  refreshAt?: number;
}

const RETRYABLE_ASSUME = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalFailure',
]);

/**
 * A refused or failed AssumeRole of a grantor in the core's terms: throttling and transient faults stay
 * retryable; anything else (AccessDenied from the trust policy or the ExternalId, a role that does not exist,
 * a disabled region) is GrantorUnavailableError, whose message says where to look.
 */
export function grantorFailure(error: unknown, target: Pick<GrantorTarget, 'account' | 'roleArn'>): Error {
  if (error instanceof GrantorUnavailableError || error instanceof RetryableAwsError) return error;
  const e = error as {
    name?: string;
    message?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (RETRYABLE_ASSUME.has(e?.name ?? '') || e?.$retryable || (e?.$metadata?.httpStatusCode ?? 0) >= 500) {
    return new RetryableAwsError(`assume ${target.roleArn}: ${e?.name ?? 'error'} (retryable)`);
  }
  return new GrantorUnavailableError(
    `cannot assume the grantor role ${target.roleArn} in account ${target.account} ` +
      `(${e?.name ?? 'Error'}: ${e?.message ?? String(error)}): check that the grantor stack is deployed in ` +
      `account ${target.account}, that the role's trust policy admits this broker function's role, and that ` +
      "its sts:ExternalId condition equals the config's externalId",
  );
}

/** IamGrants that routes every call to the principal's account, through that account's grantor. */
export class AccountIamGrants implements IamGrants {
  readonly stats: GrantorCacheStats = { hits: 0, misses: 0 };
  readonly #opts: AccountIamGrantsOptions;
  readonly #cache = new Map<string, Entry>();
  readonly #now: () => number;

  constructor(opts: AccountIamGrantsOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** The IAM of `account`, through its grantor (cached credentials, one AssumeRole for concurrent callers). */
  async iamOf(account: string): Promise<IamGrants> {
    const cached = this.#cache.get(account);
    if (cached && (cached.refreshAt === undefined || this.#now() < cached.refreshAt)) {
      this.stats.hits += 1;
      return (await cached.session).iam;
    }
    this.stats.misses += 1;
    const roleArn = this.#opts.grantorRoleArn(account);
    if (!roleArn) {
      throw new GrantorUnavailableError(
        `account ${account} is not listed in the config's accounts: the broker has no grantor role there`,
      );
    }
    const target = {
      account,
      roleArn,
      externalId: this.#opts.externalId,
      sessionName: this.#opts.sessionName,
    };
    const entry: Entry = {
      session: this.#opts.assume(target).catch((error: unknown) => {
        // A failed assume is not cached: the next call tries again.
        if (this.#cache.get(account) === entry) this.#cache.delete(account);
        throw grantorFailure(error, target);
      }),
    };
    this.#cache.set(account, entry);
    const session = await entry.session;
    entry.refreshAt = session.expiration.getTime() - (this.#opts.refreshBeforeSeconds ?? 300) * 1000;
    return session.iam;
  }

  async putPolicy(p: PrincipalRef, policyName: string, document: string): Promise<void> {
    return (await this.iamOf(p.account)).putPolicy(p, policyName, document);
  }

  async getPolicy(p: PrincipalRef, policyName: string): Promise<string | undefined> {
    return (await this.iamOf(p.account)).getPolicy(p, policyName);
  }

  async deletePolicy(p: PrincipalRef, policyName: string): Promise<void> {
    return (await this.iamOf(p.account)).deletePolicy(p, policyName);
  }

  async listPrincipals(
    patterns: readonly string[],
    account: string,
  ): Promise<(PrincipalRef & { readonly arn: string })[]> {
    return (await this.iamOf(account)).listPrincipals(patterns, account);
  }

  async listPolicies(p: PrincipalRef): Promise<string[]> {
    return (await this.iamOf(p.account)).listPolicies(p);
  }

  async getRoleId(role: PrincipalRef): Promise<string> {
    return (await this.iamOf(role.account)).getRoleId(role);
  }
}

/** Assumes grantors with the SDK's STS client; each account gets an IAM client on the grantor's credentials. */
export function sdkAssumeGrantor(sts: STSClient): AssumeGrantor {
  return async (target) => {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: target.roleArn,
        RoleSessionName: target.sessionName,
        ExternalId: target.externalId,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new Error(`AssumeRole on ${target.roleArn} returned no credentials`);
    }
    const credentials = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
    return { iam: new SdkIamGrants(new IAMClient({ credentials })), expiration: c.Expiration };
  };
}
