// local/fakes/: stand-ins for AWS and Slack services (IAM, STS, KMS, Slack) behind the core's ports.
import { randomBytes } from 'node:crypto';
import { TrustPolicyError } from '#core/errors.ts';
import type { AssumeRoleInput, IamGrants, SessionCredentials, Sts } from '#core/ports.ts';
import { accountOf } from '#core/principals.ts';
import { type SimulatedIamAccount, SimulatedIamError } from './iam.ts';

/** One session the simulated STS issued, as `/_local/iam` shows it. */
export interface SimulatedSession {
  /** `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
  readonly arn: string;
  readonly roleArn: string;
  /** `aws:userid` of the session: `<roleId>:<sessionName>`. */
  readonly userId: string;
  readonly sourceIdentity: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly issuedAt: string;
  readonly expiresAt: string;
  readonly sessionPolicy: unknown;
  readonly accessKeyId: string;
}

const NAME_RE = /^[\w+=,.@-]{2,64}$/;
/** STS's published limit for the plain-text session policy. */
const SESSION_POLICY_LIMIT = 2048;

/**
 * STS for the simulated account: AssumeRole with the checks STS makes (role exists, session name and
 * source identity charset and length, 900-3600 s under role chaining, tag limits, session policy size),
 * roles whose trust policy does not admit the broker (`untrust`), and the list of issued sessions.
 */
export class SimulatedSts implements Sts {
  readonly #iam: SimulatedIamAccount;
  readonly #untrusted = new Set<string>();
  readonly #now: () => Date;
  readonly sessions: SimulatedSession[] = [];
  /** Grantor role ARN → the ExternalId its trust policy requires. */
  readonly #grantors = new Map<string, string>();
  /** Every AssumeRole of a grantor, successful or not. */
  readonly grantorAssumptions: { roleArn: string; sessionName: string }[] = [];

  readonly #lifetimeScale: number;

  /**
   * @param lifetimeScale local time control: issued credentials live `DurationSeconds × lifetimeScale`
   *   (STS's 900 s minimum would otherwise make every credentials test wait 15 minutes). 1 = as STS.
   */
  constructor(iam: SimulatedIamAccount, now: () => Date = () => new Date(), lifetimeScale = 1) {
    this.#iam = iam;
    this.#now = now;
    this.#lifetimeScale = lifetimeScale;
  }

  /** Makes the role's trust policy refuse the broker (AssumeRole → AccessDenied). */
  untrust(roleName: string): void {
    this.#untrusted.add(roleName);
  }

  /**
   * A grantor role as its stack deploys it: AssumeRole on exactly `roleArn` succeeds only with this
   * ExternalId (the trust policy's `sts:ExternalId` condition).
   */
  trustGrantor(roleArn: string, externalId: string): void {
    this.#grantors.set(roleArn, externalId);
  }

  /** Breaks the trust of `account`'s grantor(s): the deployed ExternalId no longer matches the broker's. */
  breakGrantorTrust(account: string, externalId = 'not-the-configured-external-id'): void {
    for (const roleArn of this.#grantors.keys()) {
      if (accountOf(roleArn) === account) this.#grantors.set(roleArn, externalId);
    }
  }

  /**
   * The broker assumes a target account's grantor: the role must be a deployed grantor and the ExternalId
   * must match its trust policy, else AccessDenied as STS answers it. The session reaches that account's IAM
   * only.
   */
  async assumeGrantor(input: {
    readonly account: string;
    readonly roleArn: string;
    readonly externalId: string;
    readonly sessionName: string;
  }): Promise<{ iam: IamGrants; expiration: Date }> {
    this.grantorAssumptions.push({ roleArn: input.roleArn, sessionName: input.sessionName });
    const expected = this.#grantors.get(input.roleArn);
    if (
      expected === undefined ||
      expected !== input.externalId ||
      accountOf(input.roleArn) !== input.account
    ) {
      throw new SimulatedIamError(
        'AccessDenied',
        `User is not authorized to perform: sts:AssumeRole on resource: ${input.roleArn}`,
      );
    }
    if (!NAME_RE.test(input.sessionName)) {
      throw new SimulatedIamError('ValidationError', 'invalid RoleSessionName');
    }
    return {
      iam: this.#iam.inAccount(input.account),
      expiration: new Date(this.#now().getTime() + 3600_000),
    };
  }

  async assumeRole(input: AssumeRoleInput): Promise<SessionCredentials> {
    const roleName = input.roleArn.slice(input.roleArn.lastIndexOf('/') + 1);
    const role = { account: accountOf(input.roleArn) ?? '', type: 'role' as const, name: roleName };
    const roleArn = this.#iam.arnOf(role);
    if (this.#untrusted.has(roleName)) {
      throw new TrustPolicyError(
        `AssumeRole on ${input.roleArn} was denied: its trust policy must allow the broker's grant role the actions sts:AssumeRole, sts:SetSourceIdentity and sts:TagSession`,
      );
    }
    if (!NAME_RE.test(input.sessionName))
      throw new SimulatedIamError('ValidationError', 'invalid RoleSessionName');
    if (!NAME_RE.test(input.sourceIdentity))
      throw new SimulatedIamError('ValidationError', 'invalid SourceIdentity');
    if (
      !Number.isInteger(input.durationSeconds) ||
      input.durationSeconds < 900 ||
      input.durationSeconds > 3600
    ) {
      throw new SimulatedIamError(
        'ValidationError',
        `DurationSeconds ${input.durationSeconds} outside 900-3600 (role chaining limits sessions to one hour)`,
      );
    }
    const tags = Object.entries(input.tags);
    if (tags.length > 50 || tags.some(([k, v]) => k.length > 128 || v.length > 256)) {
      throw new SimulatedIamError('ValidationError', 'session tags exceed STS limits');
    }
    if (input.policy.replace(/\s+/g, '').length > SESSION_POLICY_LIMIT) {
      throw new SimulatedIamError('PackedPolicyTooLarge', 'session policy exceeds the size STS allows');
    }
    const roleId = await this.#iam.getRoleId(role);
    const account = accountOf(roleArn) ?? '000000000000';
    const issued = this.#now();
    const expires = new Date(issued.getTime() + input.durationSeconds * 1000 * this.#lifetimeScale);
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    this.sessions.push({
      arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${input.sessionName}`,
      roleArn,
      userId: `${roleId}:${input.sessionName}`,
      sourceIdentity: input.sourceIdentity,
      tags: input.tags,
      issuedAt: issued.toISOString(),
      expiresAt: expires.toISOString(),
      sessionPolicy: JSON.parse(input.policy) as unknown,
      accessKeyId,
    });
    return {
      AccessKeyId: accessKeyId,
      SecretAccessKey: randomBytes(30).toString('base64'),
      SessionToken: `local-session-${randomBytes(24).toString('base64url')}`,
      Expiration: expires.toISOString(),
    };
  }

  /** Sessions whose credentials have not expired yet. */
  live(at: Date = this.#now()): SimulatedSession[] {
    return this.sessions.filter((s) => Date.parse(s.expiresAt) > at.getTime());
  }
}
