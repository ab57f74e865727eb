import 'aws-sdk-client-mock-vitest/extend';
import { GetRolePolicyCommand, IAMClient, ListRolesCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountIamGrants, sdkAssumeGrantor } from '#adapters/account-iam-grants.ts';
import { GrantorUnavailableError, RetryableAwsError } from '#core/errors.ts';
import type { PrincipalRef } from '#core/ports.ts';

const B = '222233334444';
const C = '333344445555';
const role = (account: string): PrincipalRef => ({ account, type: 'role', name: 'app-reader' });
const grantor = (account: string) => `arn:aws:iam::${account}:role/JitGrantor`;

const stsMock = mockClient(STSClient);
const iamMock = mockClient(IAMClient);

/** Credentials STS hands out for the grantor of the role ARN, expiring at `expiration`. */
function credentialsFor(roleArn: string, expiration: Date) {
  const account = roleArn.split(':')[4];
  return {
    Credentials: {
      AccessKeyId: `ASIA${account}`,
      SecretAccessKey: 'secret',
      SessionToken: `token-${account}`,
      Expiration: expiration,
    },
  };
}

describe('AccountIamGrants on the SDK', () => {
  let now: number;
  let iam: AccountIamGrants;

  beforeEach(() => {
    now = Date.parse('2026-12-01T10:00:00Z');
    stsMock.reset();
    iamMock.reset();
    stsMock
      .on(AssumeRoleCommand)
      .callsFake((input: { RoleArn: string }) => credentialsFor(input.RoleArn, new Date(now + 3600_000)));
    iamMock.on(GetRolePolicyCommand).resolves({ PolicyDocument: encodeURIComponent('{"a":1}') });
    iamMock.on(PutRolePolicyCommand).resolves({});
    iam = new AccountIamGrants({
      grantorRoleArn: (account) => ([B, C].includes(account) ? grantor(account) : undefined),
      externalId: 'ext-123',
      sessionName: 'jit-grant',
      assume: sdkAssumeGrantor(new STSClient({ region: 'eu-west-1' })),
      now: () => now,
    });
  });

  afterEach(() => {
    stsMock.reset();
    iamMock.reset();
  });

  it('assumes each account grantor once, with the ExternalId and the function session name, and calls IAM with its credentials', async () => {
    // Act
    await Promise.all(Array.from({ length: 5 }, () => iam.putPolicy(role(B), 'jit-1', '{}')));
    await iam.getPolicy(role(C), 'jit-2');
    await iam.getPolicy(role(B), 'jit-1');
    // Assess
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: grantor(B),
      ExternalId: 'ext-123',
      RoleSessionName: 'jit-grant',
    });
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, { RoleArn: grantor(C) });
    expect(iam.stats).toEqual({ hits: 5, misses: 2 });
    const put = iamMock.commandCalls(PutRolePolicyCommand)[0];
    const client = put?.thisValue as IAMClient;
    const creds = await (client.config.credentials as () => Promise<{ accessKeyId: string }>)();
    expect(creds.accessKeyId).toBe(`ASIA${B}`);
    const get = iamMock.commandCalls(GetRolePolicyCommand)[0]?.thisValue as IAMClient;
    const credsC = await (get.config.credentials as () => Promise<{ accessKeyId: string }>)();
    expect(credsC.accessKeyId).toBe(`ASIA${C}`);
  });

  it('assumes the grantor again once its credentials are within 5 minutes of expiry', async () => {
    // Prepare
    await iam.getPolicy(role(B), 'jit-1');
    // Act
    now += 54 * 60_000; // 6 minutes left: still cached
    await iam.getPolicy(role(B), 'jit-1');
    now += 2 * 60_000; // 4 minutes left: refreshed
    await iam.getPolicy(role(B), 'jit-1');
    // Assess
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
    expect(iam.stats).toEqual({ hits: 1, misses: 2 });
  });

  it('routes listPrincipals to the account asked for', async () => {
    // Prepare
    iamMock.on(ListRolesCommand).resolves({
      Roles: [{ RoleName: 'app-reader', Arn: `arn:aws:iam::${C}:role/app-reader` } as never],
    });
    // Act
    const found = await iam.listPrincipals([`arn:aws:iam::${C}:role/app-*`], C);
    // Assess
    expect(found).toEqual([
      { account: C, type: 'role', name: 'app-reader', arn: `arn:aws:iam::${C}:role/app-reader` },
    ]);
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, { RoleArn: grantor(C) });
    expect(stsMock).not.toHaveReceivedCommandWith(AssumeRoleCommand, { RoleArn: grantor(B) });
  });

  it('turns a refused AssumeRole into GrantorUnavailableError naming the account, the role and what to check; not cached', async () => {
    // Prepare
    stsMock.on(AssumeRoleCommand, { RoleArn: grantor(C) }).rejects(
      new STSServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: {},
        message: 'not authorized to perform: sts:AssumeRole',
      }),
    );
    // Act
    const act = iam.putPolicy(role(C), 'jit-3', '{}');
    // Assess
    await expect(act).rejects.toBeInstanceOf(GrantorUnavailableError);
    await expect(iam.putPolicy(role(C), 'jit-3', '{}')).rejects.toThrow(
      new RegExp(`${grantor(C)} in account ${C} \\(AccessDenied.*ExternalId`),
    );
    await expect(iam.putPolicy(role(C), 'jit-3', '{}')).rejects.toThrow(/grantor stack is deployed/);
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 3);
    expect(iamMock).not.toHaveReceivedCommand(PutRolePolicyCommand);
    // Another account is unaffected.
    await expect(iam.putPolicy(role(B), 'jit-4', '{}')).resolves.toBeUndefined();
  });

  it('keeps a throttled AssumeRole retryable', async () => {
    // Prepare
    stsMock
      .on(AssumeRoleCommand)
      .rejects(
        new STSServiceException({ name: 'Throttling', $fault: 'client', $metadata: {}, message: 'slow' }),
      );
    // Act
    const act = iam.getPolicy(role(B), 'jit-1');
    // Assess
    await expect(act).rejects.toBeInstanceOf(RetryableAwsError);
  });

  it('refuses an account the config does not list, without calling STS', async () => {
    // Act
    const act = iam.getPolicy(role('444455556666'), 'jit-1');
    // Assess
    await expect(act).rejects.toThrow(/444455556666 is not listed/);
    expect(stsMock).not.toHaveReceivedCommand(AssumeRoleCommand);
  });
});
