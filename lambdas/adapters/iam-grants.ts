import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListRolePoliciesCommand,
  ListRolesCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { PolicyLimitError, PrincipalNotFoundError, RetryableAwsError } from '#core/errors.ts';
import type { IamGrants, PrincipalRef } from '#core/ports.ts';
import { accountOf, arnMatches } from '#core/principals.ts';

const RETRYABLE = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceFailure',
  'ServiceFailureException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'ConcurrentModification',
  'ConcurrentModificationException',
]);

function isNoSuchEntity(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return name === 'NoSuchEntity' || name === 'NoSuchEntityException';
}

/**
 * IAM's errors in the core's terms: throttling and transient faults become RetryableAwsError (the state
 * machine retries these), a full principal PolicyLimitError, a missing principal PrincipalNotFoundError.
 */
export function classify(error: unknown, what: string): unknown {
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (/^LimitExceeded/.test(e?.name ?? '')) return new PolicyLimitError(`${what}: ${e?.name}`);
  if (isNoSuchEntity(error)) return new PrincipalNotFoundError(`${what}: ${e?.name}`);
  const status = e?.$metadata?.httpStatusCode ?? 0;
  if (RETRYABLE.has(e?.name ?? '') || e?.$retryable || status >= 500) {
    return new RetryableAwsError(`${what}: ${e?.name ?? 'error'} (retryable)`);
  }
  return error;
}

/** IamGrants on the IAM API: inline policies on roles and users. */
export class SdkIamGrants implements IamGrants {
  readonly #iam: IAMClient;

  constructor(iam: IAMClient) {
    this.#iam = iam;
  }

  async putPolicy(p: PrincipalRef, policyName: string, document: string): Promise<void> {
    try {
      if (p.type === 'role') {
        await this.#iam.send(
          new PutRolePolicyCommand({ RoleName: p.name, PolicyName: policyName, PolicyDocument: document }),
        );
      } else {
        await this.#iam.send(
          new PutUserPolicyCommand({ UserName: p.name, PolicyName: policyName, PolicyDocument: document }),
        );
      }
    } catch (error) {
      throw classify(error, `put ${policyName} on ${p.type} ${p.name}`);
    }
  }

  async getPolicy(p: PrincipalRef, policyName: string): Promise<string | undefined> {
    try {
      const out =
        p.type === 'role'
          ? await this.#iam.send(new GetRolePolicyCommand({ RoleName: p.name, PolicyName: policyName }))
          : await this.#iam.send(new GetUserPolicyCommand({ UserName: p.name, PolicyName: policyName }));
      // IAM returns the document URL-encoded (RFC 3986).
      return out.PolicyDocument === undefined ? undefined : decodeURIComponent(out.PolicyDocument);
    } catch (error) {
      if (isNoSuchEntity(error)) return undefined;
      throw classify(error, `get ${policyName} of ${p.type} ${p.name}`);
    }
  }

  /** This client's account's principals (`account` names it: the client reaches only its own). */
  async listPrincipals(
    patterns: readonly string[],
    account: string,
  ): Promise<(PrincipalRef & { arn: string })[]> {
    const found: (PrincipalRef & { arn: string })[] = [];
    const keep = (type: 'role' | 'user', name?: string, arn?: string) => {
      if (name && arn && patterns.some((p) => p.includes(`:${type}/`) && arnMatches(p, arn)))
        found.push({ account: accountOf(arn) ?? account, type, name, arn });
    };
    try {
      if (patterns.some((p) => p.includes(':role/'))) {
        let marker: string | undefined;
        do {
          const out = await this.#iam.send(new ListRolesCommand({ Marker: marker }));
          for (const r of out.Roles ?? []) keep('role', r.RoleName, r.Arn);
          marker = out.IsTruncated ? out.Marker : undefined;
        } while (marker);
      }
      if (patterns.some((p) => p.includes(':user/'))) {
        let marker: string | undefined;
        do {
          const out = await this.#iam.send(new ListUsersCommand({ Marker: marker }));
          for (const u of out.Users ?? []) keep('user', u.UserName, u.Arn);
          marker = out.IsTruncated ? out.Marker : undefined;
        } while (marker);
      }
      return found;
    } catch (error) {
      throw classify(error, 'list roles and users');
    }
  }

  async listPolicies(p: PrincipalRef): Promise<string[]> {
    const names: string[] = [];
    let marker: string | undefined;
    try {
      do {
        const out =
          p.type === 'role'
            ? await this.#iam.send(new ListRolePoliciesCommand({ RoleName: p.name, Marker: marker }))
            : await this.#iam.send(new ListUserPoliciesCommand({ UserName: p.name, Marker: marker }));
        names.push(...(out.PolicyNames ?? []));
        marker = out.IsTruncated ? out.Marker : undefined;
      } while (marker);
      return names;
    } catch (error) {
      throw classify(error, `list inline policies of ${p.type} ${p.name}`);
    }
  }

  async getRoleId(role: PrincipalRef): Promise<string> {
    try {
      const out = await this.#iam.send(new GetRoleCommand({ RoleName: role.name }));
      const id = out.Role?.RoleId;
      if (!id) throw new Error(`GetRole returned no RoleId for ${role.name}`);
      return id;
    } catch (error) {
      throw classify(error, `get role ${role.name}`);
    }
  }

  async deletePolicy(p: PrincipalRef, policyName: string): Promise<void> {
    try {
      if (p.type === 'role') {
        await this.#iam.send(new DeleteRolePolicyCommand({ RoleName: p.name, PolicyName: policyName }));
      } else {
        await this.#iam.send(new DeleteUserPolicyCommand({ UserName: p.name, PolicyName: policyName }));
      }
    } catch (error) {
      if (isNoSuchEntity(error)) return; // already gone: revoke is idempotent
      throw classify(error, `delete ${policyName} from ${p.type} ${p.name}`);
    }
  }
}
