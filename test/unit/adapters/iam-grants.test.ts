import 'aws-sdk-client-mock-vitest/extend';
import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  IAMServiceException,
  NoSuchEntityException,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  ServiceFailureException,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SdkIamGrants } from '#adapters/iam-grants.ts';
import {
  PolicyLimitError,
  PrincipalNotFoundError,
  RetryableAwsError,
  VerificationError,
} from '#core/errors.ts';
import type { PrincipalRef } from '#core/ports.ts';
import { submitRequest } from '#core/requests/requests.ts';
import { grantStep, validateStep } from '#core/workflow/steps.ts';
import { ALICE, arn, fakeDeps } from '../../support/fakes.ts';

const ROLE: PrincipalRef = { account: '111122223333', type: 'role', name: 'app-reader' };
const USER: PrincipalRef = { account: '111122223333', type: 'user', name: 'svc-batch' };
const NAME = 'jit-req-0001';
const DOCUMENT = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Jit0',
      Effect: 'Allow',
      Action: ['s3:GetObject'],
      Resource: ['arn:aws:s3:::app-data/reports/*'],
      Condition: { DateLessThan: { 'aws:CurrentTime': '2026-11-22T10:15:00Z' } },
    },
  ],
});

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

/** An IAM error as the SDK would deserialize it: a named service exception with HTTP metadata. */
function iamError(name: string, httpStatusCode: number, fault: 'client' | 'server' = 'client') {
  return new IAMServiceException({
    name,
    $fault: fault,
    message: `${name} from IAM`,
    ...meta(httpStatusCode),
  });
}

function noSuchEntity() {
  return new NoSuchEntityException({ message: 'The policy cannot be found.', ...meta(404) });
}

describe('SdkIamGrants', () => {
  const client = new IAMClient({});
  const iamMock = mockClient(client);
  const grants = new SdkIamGrants(client);

  beforeEach(() => {
    iamMock.reset();
  });

  afterEach(() => {
    iamMock.reset();
  });

  describe('putPolicy', () => {
    it('puts the inline policy on the role by RoleName', async () => {
      // Prepare
      iamMock.on(PutRolePolicyCommand).resolves({});
      // Act
      await grants.putPolicy(ROLE, NAME, DOCUMENT);
      // Assess
      expect(iamMock).toHaveReceivedCommandExactlyOnceWith(PutRolePolicyCommand, {
        RoleName: 'app-reader',
        PolicyName: 'jit-req-0001',
        PolicyDocument: DOCUMENT,
      });
      expect(iamMock).not.toHaveReceivedCommand(PutUserPolicyCommand);
    });

    it('puts the inline policy on the user by UserName', async () => {
      // Prepare
      iamMock.on(PutUserPolicyCommand).resolves({});
      // Act
      await grants.putPolicy(USER, NAME, DOCUMENT);
      // Assess
      expect(iamMock).toHaveReceivedCommandExactlyOnceWith(PutUserPolicyCommand, {
        UserName: 'svc-batch',
        PolicyName: 'jit-req-0001',
        PolicyDocument: DOCUMENT,
      });
      expect(iamMock).not.toHaveReceivedCommand(PutRolePolicyCommand);
    });

    it.each([
      ['a ThrottlingException', () => iamError('ThrottlingException', 400)],
      ['a Throttling error (the IAM query-protocol code)', () => iamError('Throttling', 400)],
      ['a ServiceFailureException', () => new ServiceFailureException({ message: 'boom', ...meta(500) })],
      ['an unnamed 503', () => iamError('SomethingUnmodelled', 503, 'server')],
    ])('surfaces %s as RetryableAwsError', async (_label, error) => {
      // Prepare
      iamMock.on(PutRolePolicyCommand).rejects(error());
      // Act
      const result = grants.putPolicy(ROLE, NAME, DOCUMENT);
      // Assess
      await expect(result).rejects.toBeInstanceOf(RetryableAwsError);
      await expect(result).rejects.toMatchObject({ name: 'RetryableAwsError' });
    });

    it.each([
      ['LimitExceeded', 409, PolicyLimitError],
      ['NoSuchEntity', 404, PrincipalNotFoundError],
    ] as const)('turns %s into the domain error the core matches', async (code, status, kind) => {
      // Prepare
      iamMock.on(PutRolePolicyCommand).rejects(iamError(code, status));
      // Act
      const result = grants.putPolicy(ROLE, NAME, DOCUMENT);
      // Assess
      await expect(result).rejects.toBeInstanceOf(kind);
    });

    it('rethrows AccessDenied as is, not as retryable', async () => {
      // Prepare
      const denied = iamError('AccessDenied', 403);
      iamMock.on(PutUserPolicyCommand).rejects(denied);
      // Act
      const result = grants.putPolicy(USER, NAME, DOCUMENT);
      // Assess
      await expect(result).rejects.toBe(denied);
      await expect(result).rejects.not.toBeInstanceOf(RetryableAwsError);
    });
  });

  describe('getPolicy', () => {
    it('returns the URL-decoded document of the role policy', async () => {
      // Prepare
      iamMock.on(GetRolePolicyCommand).resolves({
        RoleName: 'app-reader',
        PolicyName: NAME,
        PolicyDocument: encodeURIComponent(DOCUMENT),
      });
      // Act
      const stored = await grants.getPolicy(ROLE, NAME);
      // Assess
      expect(encodeURIComponent(DOCUMENT)).not.toBe(DOCUMENT);
      expect(stored).toBe(DOCUMENT);
      expect(iamMock).toHaveReceivedCommandExactlyOnceWith(GetRolePolicyCommand, {
        RoleName: 'app-reader',
        PolicyName: NAME,
      });
    });

    it('returns the URL-decoded document of the user policy', async () => {
      // Prepare
      iamMock.on(GetUserPolicyCommand).resolves({
        UserName: 'svc-batch',
        PolicyName: NAME,
        PolicyDocument: encodeURIComponent(DOCUMENT),
      });
      // Act
      const stored = await grants.getPolicy(USER, NAME);
      // Assess
      expect(stored).toBe(DOCUMENT);
      expect(iamMock).toHaveReceivedCommandExactlyOnceWith(GetUserPolicyCommand, {
        UserName: 'svc-batch',
        PolicyName: NAME,
      });
    });

    it('returns undefined on NoSuchEntity', async () => {
      // Prepare
      iamMock.on(GetRolePolicyCommand).rejects(noSuchEntity());
      // Act
      const stored = await grants.getPolicy(ROLE, NAME);
      // Assess
      expect(stored).toBeUndefined();
      expect(iamMock).toHaveReceivedCommandTimes(GetRolePolicyCommand, 1);
    });

    it('surfaces throttling on read-back as RetryableAwsError', async () => {
      // Prepare
      iamMock.on(GetRolePolicyCommand).rejects(iamError('Throttling', 400));
      // Act
      const result = grants.getPolicy(ROLE, NAME);
      // Assess
      await expect(result).rejects.toBeInstanceOf(RetryableAwsError);
    });
  });

  describe('deletePolicy', () => {
    it('deletes the role policy by RoleName and PolicyName', async () => {
      // Prepare
      iamMock.on(DeleteRolePolicyCommand).resolves({});
      // Act
      await grants.deletePolicy(ROLE, NAME);
      // Assess
      expect(iamMock).toHaveReceivedCommandExactlyOnceWith(DeleteRolePolicyCommand, {
        RoleName: 'app-reader',
        PolicyName: NAME,
      });
    });

    it('deletes the user policy by UserName and PolicyName', async () => {
      // Prepare
      iamMock.on(DeleteUserPolicyCommand).resolves({});
      // Act
      await grants.deletePolicy(USER, NAME);
      // Assess
      expect(iamMock).toHaveReceivedCommandExactlyOnceWith(DeleteUserPolicyCommand, {
        UserName: 'svc-batch',
        PolicyName: NAME,
      });
    });

    it('treats NoSuchEntity as success', async () => {
      // Prepare
      iamMock.on(DeleteRolePolicyCommand).rejects(noSuchEntity());
      // Act
      const result = grants.deletePolicy(ROLE, NAME);
      // Assess
      await expect(result).resolves.toBeUndefined();
      expect(iamMock).toHaveReceivedCommandTimes(DeleteRolePolicyCommand, 1);
    });

    it('surfaces throttling as RetryableAwsError', async () => {
      // Prepare
      iamMock.on(DeleteUserPolicyCommand).rejects(iamError('ThrottlingException', 400));
      // Act
      const result = grants.deletePolicy(USER, NAME);
      // Assess
      await expect(result).rejects.toBeInstanceOf(RetryableAwsError);
    });

    it('rethrows AccessDenied as is', async () => {
      // Prepare
      const denied = iamError('AccessDenied', 403);
      iamMock.on(DeleteRolePolicyCommand).rejects(denied);
      // Act
      const result = grants.deletePolicy(ROLE, NAME);
      // Assess
      await expect(result).rejects.toBe(denied);
    });
  });
});

describe('grantStep on SdkIamGrants', () => {
  const client = new IAMClient({});
  const iamMock = mockClient(client);

  afterEach(() => {
    iamMock.reset();
  });

  it('refuses a grant whose read-back differs and leaves the request APPROVED', async () => {
    // Prepare
    const fake = fakeDeps();
    const deps = { ...fake.deps, iam: new SdkIamGrants(client) };
    const { requestId } = await submitRequest(deps, ALICE, {
      target: arn.role('ops-reader'),
      permissions: [
        {
          actions: ['logs:GetLogEvents'],
          resources: ['arn:aws:logs:us-east-1:111122223333:log-group:app'],
        },
      ],
      durationSeconds: 600,
      reason: 'read the app logs for INC-7',
    });
    expect(await validateStep(deps, requestId)).toEqual({ outcome: 'AUTO_APPROVED' });
    const tampered = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'Jit0', Effect: 'Allow', Action: ['logs:*'], Resource: ['*'] }],
    });
    iamMock.on(PutRolePolicyCommand).resolves({});
    iamMock.on(GetRolePolicyCommand).resolves({ PolicyDocument: encodeURIComponent(tampered) });
    // Act
    const result = grantStep(deps, requestId);
    // Assess
    await expect(result).rejects.toBeInstanceOf(VerificationError);
    expect(iamMock).toHaveReceivedCommandWith(PutRolePolicyCommand, {
      RoleName: 'ops-reader',
      PolicyName: `jit-${requestId}`,
    });
    expect(iamMock).toHaveReceivedCommandWith(GetRolePolicyCommand, {
      RoleName: 'ops-reader',
      PolicyName: `jit-${requestId}`,
    });
    const request = await fake.store.get(requestId);
    expect(request?.status).toBe('APPROVED');
    expect(request?.expiresAt).toBeUndefined();
    expect((await fake.store.events(requestId)).map((e) => e.to)).toEqual(['REQUESTED', 'APPROVED']);
  });

  it('records GRANTED when the read-back matches (control for the test above)', async () => {
    // Prepare
    const fake = fakeDeps();
    const deps = { ...fake.deps, iam: new SdkIamGrants(client) };
    const { requestId } = await submitRequest(deps, ALICE, {
      target: arn.role('ops-reader'),
      permissions: [
        {
          actions: ['logs:GetLogEvents'],
          resources: ['arn:aws:logs:us-east-1:111122223333:log-group:app'],
        },
      ],
      durationSeconds: 600,
      reason: 'read the app logs for INC-7',
    });
    await validateStep(deps, requestId);
    let written = '';
    iamMock.on(PutRolePolicyCommand).callsFake((input: { PolicyDocument: string }) => {
      written = input.PolicyDocument;
      return {};
    });
    iamMock.on(GetRolePolicyCommand).callsFake(() => ({ PolicyDocument: encodeURIComponent(written) }));
    // Act
    const { expiresAt } = await grantStep(deps, requestId);
    // Assess
    expect(expiresAt).toBe('2026-11-22T10:10:00Z');
    expect(JSON.parse(written).Statement[0].Condition).toEqual({
      DateLessThan: { 'aws:CurrentTime': expiresAt },
    });
    expect((await fake.store.get(requestId))?.status).toBe('GRANTED');
  });
});
