import 'aws-sdk-client-mock-vitest/extend';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AccountIamGrants } from '#adapters/account-iam-grants.ts';
import { SdkIamGrants } from '#adapters/iam-grants.ts';
import { testConfigInput } from '../../support/fakes.ts';

const B = '222233334444';
const stsMock = mockClient(STSClient);
const iamMock = mockClient(IAMClient);

describe('Lambda IAM port', () => {
  const saved = { ...process.env };
  let dir: string;
  const withConfig = (config: unknown) => {
    const file = join(dir, 'jit-policy.json');
    writeFileSync(file, JSON.stringify(config));
    process.env.JIT_POLICY_FILE = file;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-deps-'));
    vi.resetModules();
    stsMock.reset();
    iamMock.reset();
  });
  afterEach(() => {
    process.env = { ...saved };
    rmSync(dir, { recursive: true, force: true });
  });

  it('talks to its own account directly without an accounts list', async () => {
    // Prepare
    withConfig(testConfigInput());
    const { iamPort } = await import('#lambdas/runtime/lambda-deps.ts');
    // Act
    const iam = iamPort();
    // Assess
    // (class identity differs across vi.resetModules: compare names)
    expect(iam.constructor.name).toBe(SdkIamGrants.name);
  });

  it('reaches a listed account through its grantor, as the function named in the session', async () => {
    // Prepare
    const base = testConfigInput();
    withConfig({
      ...base,
      accounts: [{ id: B }],
      externalId: 'ext-install-1',
      grantorRoleName: 'TeamGrantor',
      rules: base.rules.map((r) => ({
        ...r,
        targets: r.targets.map((t) => t.replace('111122223333', B)),
      })),
    });
    process.env.JIT_HANDLER = 'sweeper';
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAB',
        SecretAccessKey: 's',
        SessionToken: 't',
        Expiration: new Date(Date.now() + 3600_000),
      },
    });
    iamMock.on(GetRolePolicyCommand).resolves({});
    const { iamPort } = await import('#lambdas/runtime/lambda-deps.ts');
    // Act
    const iam = iamPort();
    await iam.getPolicy({ account: B, type: 'role', name: 'app-reader' }, 'jit-1');
    // Assess
    expect(iam.constructor.name).toBe(AccountIamGrants.name);
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: `arn:aws:iam::${B}:role/TeamGrantor`,
      ExternalId: 'ext-install-1',
      RoleSessionName: 'jit-sweeper',
    });
  });
});
