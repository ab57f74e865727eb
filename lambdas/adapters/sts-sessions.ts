import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { TrustPolicyError } from '#core/errors.ts';
import type { AssumeRoleInput, SessionCredentials, Sts } from '#core/ports.ts';
import { classify } from './iam-grants.ts';

/** Sts on the STS API: AssumeRole with a session policy, SourceIdentity and session tags. */
export class SdkSts implements Sts {
  readonly #sts: STSClient;

  constructor(sts: STSClient) {
    this.#sts = sts;
  }

  async assumeRole(input: AssumeRoleInput): Promise<SessionCredentials> {
    try {
      const out = await this.#sts.send(
        new AssumeRoleCommand({
          RoleArn: input.roleArn,
          RoleSessionName: input.sessionName,
          SourceIdentity: input.sourceIdentity,
          Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
          DurationSeconds: input.durationSeconds,
          Policy: input.policy,
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
        throw new Error(`AssumeRole on ${input.roleArn} returned no credentials`);
      }
      return {
        AccessKeyId: c.AccessKeyId,
        SecretAccessKey: c.SecretAccessKey,
        SessionToken: c.SessionToken,
        Expiration: c.Expiration.toISOString(),
      };
    } catch (error) {
      const name = (error as { name?: string })?.name;
      if (name === 'AccessDenied' || name === 'AccessDeniedException') {
        throw new TrustPolicyError(
          `AssumeRole on ${input.roleArn} was denied: its trust policy must allow the broker's grant role ` +
            'the actions sts:AssumeRole, sts:SetSourceIdentity and sts:TagSession',
        );
      }
      throw classify(error, `assume ${input.roleArn}`);
    }
  }
}
