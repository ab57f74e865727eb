import 'aws-sdk-client-mock-vitest/extend';
import {
  GetRoleCommand,
  IAMClient,
  ListRolePoliciesCommand,
  ListRolesCommand,
  ListUsersCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SdkIamGrants } from '#adapters/iam-grants.ts';
import { KmsVault } from '#adapters/kms-vault.ts';
import { SdkSts } from '#adapters/sts-sessions.ts';
import { PrincipalNotFoundError, RetryableAwsError, TrustPolicyError } from '#core/errors.ts';

const iamMock = mockClient(IAMClient);
const stsMock = mockClient(STSClient);
const kmsMock = mockClient(KMSClient);

afterEach(() => {
  iamMock.reset();
  stsMock.reset();
  kmsMock.reset();
});

const input = {
  roleArn: 'arn:aws:iam::111122223333:role/jit-release-prod',
  sessionName: 'jit-r-1',
  sourceIdentity: 'alice',
  tags: { 'jit:request-id': 'r-1', 'jit:requester': 'arn:aws:sts::111122223333:assumed-role/Dev/alice' },
  durationSeconds: 900,
  policy: '{"Version":"2012-10-17","Statement":[]}',
};

describe('SdkSts', () => {
  it('assumes the role with session name, source identity, tags, duration and session policy', async () => {
    // Prepare
    const expiration = new Date('2026-11-25T12:15:00Z');
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIA1', SecretAccessKey: 's', SessionToken: 't', Expiration: expiration },
    });
    // Act
    const creds = await new SdkSts(new STSClient({})).assumeRole(input);
    // Assess
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: input.roleArn,
      RoleSessionName: 'jit-r-1',
      SourceIdentity: 'alice',
      DurationSeconds: 900,
      Policy: input.policy,
      Tags: [
        { Key: 'jit:request-id', Value: 'r-1' },
        { Key: 'jit:requester', Value: input.tags['jit:requester'] },
      ],
    });
    expect(creds).toEqual({
      AccessKeyId: 'ASIA1',
      SecretAccessKey: 's',
      SessionToken: 't',
      Expiration: expiration.toISOString(),
    });
  });

  it('explains a refused AssumeRole as a trust-policy problem', async () => {
    // Prepare
    stsMock
      .on(AssumeRoleCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    // Act
    const act = new SdkSts(new STSClient({})).assumeRole(input);
    // Assess
    await expect(act).rejects.toBeInstanceOf(TrustPolicyError);
    await expect(act).rejects.toThrow(/sts:SetSourceIdentity and sts:TagSession/);
  });

  it('surfaces throttling as retryable', async () => {
    // Prepare
    stsMock.on(AssumeRoleCommand).rejects(Object.assign(new Error('slow down'), { name: 'Throttling' }));
    // Act
    const act = new SdkSts(new STSClient({})).assumeRole(input);
    // Assess
    await expect(act).rejects.toBeInstanceOf(RetryableAwsError);
  });
});

describe('SdkIamGrants for sessions', () => {
  it('reads the role id and lists inline policies across pages', async () => {
    // Prepare
    iamMock.on(GetRoleCommand).resolves({ Role: { RoleId: 'AROAEXAMPLE' } as never });
    iamMock
      .on(ListRolePoliciesCommand, { RoleName: 'r' })
      .resolvesOnce({ PolicyNames: ['a', 'b'], IsTruncated: true, Marker: 'm1' })
      .resolvesOnce({ PolicyNames: ['c'], IsTruncated: false });
    const iam = new SdkIamGrants(new IAMClient({}));
    // Act
    const id = await iam.getRoleId({ account: '111122223333', type: 'role', name: 'r' });
    const names = await iam.listPolicies({ account: '111122223333', type: 'role', name: 'r' });
    // Assess
    expect(id).toBe('AROAEXAMPLE');
    expect(names).toEqual(['a', 'b', 'c']);
    expect(iamMock).toHaveReceivedCommandWith(ListRolePoliciesCommand, { RoleName: 'r', Marker: 'm1' });
  });

  it('finds the roles matching the target patterns across pages, without listing users when none is a target', async () => {
    // Prepare
    const role = (name: string) =>
      ({ RoleName: name, Arn: `arn:aws:iam::111122223333:role/${name}` }) as never;
    iamMock
      .on(ListRolesCommand)
      .resolvesOnce({ Roles: [role('app-a'), role('admin')], IsTruncated: true, Marker: 'm' })
      .resolvesOnce({ Roles: [role('app-b')], IsTruncated: false });
    // Act
    const found = await new SdkIamGrants(new IAMClient({})).listPrincipals(
      ['arn:aws:iam::111122223333:role/app-*'],
      '111122223333',
    );
    // Assess
    expect(found.map((p) => p.name)).toEqual(['app-a', 'app-b']);
    expect(iamMock).toHaveReceivedCommandTimes(ListRolesCommand, 2);
    expect(iamMock).not.toHaveReceivedCommand(ListUsersCommand);
  });

  it('turns a missing role into PrincipalNotFoundError', async () => {
    // Prepare
    iamMock.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: 'no role', $metadata: {} }));
    // Act
    const act = new SdkIamGrants(new IAMClient({})).getRoleId({
      account: '111122223333',
      type: 'role',
      name: 'gone',
    });
    // Assess
    await expect(act).rejects.toBeInstanceOf(PrincipalNotFoundError);
  });
});

describe('KmsVault', () => {
  it('binds the ciphertext to its request with the encryption context', async () => {
    // Prepare
    kmsMock.on(EncryptCommand).resolves({ CiphertextBlob: new Uint8Array([1, 2, 3]) });
    kmsMock.on(DecryptCommand).resolves({ Plaintext: new TextEncoder().encode('secret') });
    const vault = new KmsVault(new KMSClient({}), 'key-arn');
    // Act
    const sealed = await vault.seal('r-1', 'secret');
    const opened = await vault.open('r-1', sealed);
    // Assess
    expect(sealed).toBe(Buffer.from([1, 2, 3]).toString('base64'));
    expect(opened).toBe('secret');
    expect(kmsMock).toHaveReceivedCommandWith(EncryptCommand, {
      KeyId: 'key-arn',
      EncryptionContext: { 'jit:request-id': 'r-1' },
    });
    expect(kmsMock).toHaveReceivedCommandWith(DecryptCommand, {
      KeyId: 'key-arn',
      EncryptionContext: { 'jit:request-id': 'r-1' },
    });
  });
});
