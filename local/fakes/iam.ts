// local/fakes/: stand-ins for AWS and Slack services (IAM, STS, KMS, Slack) behind the core's ports.
import { createHash } from 'node:crypto';
import { PolicyLimitError, PrincipalNotFoundError, RetryableAwsError } from '#core/errors.ts';
import { INLINE_POLICY_LIMITS, policySize } from '#core/grants/policy-document.ts';
import { matches } from '#core/patterns.ts';
import type { IamGrants, PrincipalRef } from '#core/ports.ts';
import { accountOf, splitArn } from '#core/principals.ts';

/** An error shaped like the IAM API's (name = IAM error code). */
export class SimulatedIamError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Operations faults can be injected into. */
export type IamOperation = 'put' | 'get' | 'delete';

/** A fault to inject: which operation, when (before or after the real effect), what to throw, how often. */
export interface IamFault {
  readonly op: IamOperation;
  readonly when?: 'before' | 'after';
  readonly error: () => Error;
  /** How many calls fail; `Infinity` for every call. */
  times: number;
  /** Only calls whose policy name satisfies this fail. */
  readonly policyName?: (name: string) => boolean;
}

/** One principal as `/_local/iam` shows it. */
export interface PrincipalView {
  readonly arn: string;
  readonly inlinePolicies: Record<string, unknown>;
}

/** A throttling error as the SDK adapter would surface it (retryable). */
export const throttled = () => new RetryableAwsError('Throttling: Rate exceeded (simulated)');

const NAME_RE = /^[\w+=,.@-]{1,128}$/;

/**
 * In-memory IAM accounts (one or several, principals keyed by full ARN) that hold inline policies the way
 * IAM does: principals must exist (any account and name matching one of the principal patterns does), names are checked, the aggregate inline-policy
 * size per role/user is enforced, and deleting a missing policy is NoSuchEntity (which the port treats
 * as done). Faults can be injected per operation for tests.
 */
export class SimulatedIamAccount implements IamGrants {
  readonly #patterns: readonly string[];
  readonly #policies = new Map<string, Map<string, string>>();
  readonly #faults: IamFault[] = [];
  /** Every call, in order, for assertions and the local log. */
  readonly calls: { op: IamOperation; principal: string; policyName: string; at: number }[] = [];

  constructor(principalPatterns: readonly string[]) {
    this.#patterns = principalPatterns;
  }

  /** Makes the next matching call(s) fail. */
  inject(fault: IamFault): void {
    this.#faults.push(fault);
  }

  #fault(op: IamOperation, when: 'before' | 'after', policyName: string): void {
    const fault = this.#faults.find(
      (f) =>
        f.op === op && (f.when ?? 'before') === when && f.times > 0 && (f.policyName?.(policyName) ?? true),
    );
    if (!fault) return;
    fault.times--;
    throw fault.error();
  }

  /** The ARN of an existing principal of the account (NoSuchEntity otherwise). */
  arnOf(p: PrincipalRef): string {
    return this.#arn(p);
  }

  /** The simulated account knows the principals that hold (or held) an inline policy. */
  async listPrincipals(
    patterns: readonly string[],
    account: string,
  ): Promise<(PrincipalRef & { arn: string })[]> {
    return [...this.#policies.keys()]
      .filter((arn) => accountOf(arn) === account && patterns.some((p) => matches(p, arn)))
      .map((arn) => {
        const type = arn.includes(':role/') ? ('role' as const) : ('user' as const);
        return { account, type, name: arn.slice(arn.lastIndexOf('/') + 1), arn };
      });
  }

  async listPolicies(p: PrincipalRef): Promise<string[]> {
    return [...(this.#policies.get(this.#arn(p))?.keys() ?? [])];
  }

  /** IAM's unique id of a role: `AROA` + 17 characters, stable for the ARN as IAM's is for the role. */
  async getRoleId(role: PrincipalRef): Promise<string> {
    const arn = this.#arn({ ...role, type: 'role' });
    return `AROA${createHash('sha256').update(arn).digest('hex').slice(0, 17).toUpperCase()}`;
  }

  #arn(p: PrincipalRef): string {
    // The port addresses principals by account, type and name; patterns match on the account segment (a
    // `*` there: any account) and on the name after the last '/'.
    const pattern = this.#patterns.find((pat) => {
      const account = splitArn(pat)?.account;
      return (
        pat.includes(`:${p.type}/`) &&
        (account === '*' || account === p.account) &&
        matches(pat.slice(pat.lastIndexOf('/') + 1), p.name)
      );
    });
    if (!pattern || !/^\d{12}$/.test(p.account)) {
      throw new PrincipalNotFoundError(`The ${p.type} with name ${p.name} cannot be found in ${p.account}.`);
    }
    return `arn:aws:iam::${p.account}:${p.type}/${p.name}`;
  }

  /**
   * This IAM as one account's grantor sees it: calls on principals of any other account are refused
   * (AccessDenied), as another account's IAM would refuse them.
   */
  inAccount(account: string): IamGrants {
    const only = (p: PrincipalRef) => {
      if (p.account !== account) {
        throw new SimulatedIamError(
          'AccessDenied',
          `the grantor of ${account} may not act on ${p.type} ${p.name} of ${p.account}`,
        );
      }
      return p;
    };
    return {
      putPolicy: async (p, name, doc) => this.putPolicy(only(p), name, doc),
      getPolicy: async (p, name) => this.getPolicy(only(p), name),
      deletePolicy: async (p, name) => this.deletePolicy(only(p), name),
      listPolicies: async (p) => this.listPolicies(only(p)),
      getRoleId: async (p) => this.getRoleId(only(p)),
      // An account's IAM lists its own roles and users, whatever the caller meant.
      listPrincipals: async (patterns) => this.listPrincipals(patterns, account),
    };
  }

  async putPolicy(p: PrincipalRef, policyName: string, document: string): Promise<void> {
    this.#fault('put', 'before', policyName);
    const arn = this.#arn(p);
    this.calls.push({ op: 'put', principal: arn, policyName, at: Date.now() });
    if (!NAME_RE.test(policyName))
      throw new SimulatedIamError('ValidationError', `invalid policy name ${policyName}`);
    try {
      JSON.parse(document);
    } catch {
      throw new SimulatedIamError('MalformedPolicyDocument', 'policy document is not JSON');
    }
    const existing = this.#policies.get(arn) ?? new Map<string, string>();
    let total = policySize(document);
    for (const [name, doc] of existing) if (name !== policyName) total += policySize(doc);
    if (total > INLINE_POLICY_LIMITS[p.type]) {
      throw new PolicyLimitError(
        `LimitExceeded: Maximum policy size of ${INLINE_POLICY_LIMITS[p.type]} bytes exceeded for ${p.type} ${p.name}`,
      );
    }
    existing.set(policyName, document);
    this.#policies.set(arn, existing);
    this.#fault('put', 'after', policyName);
  }

  async getPolicy(p: PrincipalRef, policyName: string): Promise<string | undefined> {
    this.#fault('get', 'before', policyName);
    const arn = this.#arn(p);
    this.calls.push({ op: 'get', principal: arn, policyName, at: Date.now() });
    return this.#policies.get(arn)?.get(policyName);
  }

  async deletePolicy(p: PrincipalRef, policyName: string): Promise<void> {
    this.#fault('delete', 'before', policyName);
    const arn = this.#arn(p);
    this.calls.push({ op: 'delete', principal: arn, policyName, at: Date.now() });
    // IAM answers NoSuchEntity for a missing policy; the port's contract is that this counts as done.
    this.#policies.get(arn)?.delete(policyName);
    this.#fault('delete', 'after', policyName);
  }

  /** Inline policy documents on one principal ARN, by name. */
  policiesOf(arn: string): Record<string, string> {
    return Object.fromEntries(this.#policies.get(arn) ?? []);
  }

  /** Every principal (of `account`, when given) that holds at least one inline policy, with parsed documents. */
  snapshot(account?: string): PrincipalView[] {
    return [...this.#policies.entries()]
      .filter(([arn, m]) => m.size > 0 && (account === undefined || accountOf(arn) === account))
      .map(([arn, m]) => ({
        arn,
        inlinePolicies: Object.fromEntries([...m].map(([name, doc]) => [name, JSON.parse(doc) as unknown])),
      }));
  }
}
