import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testConfigInput } from '../../support/fakes.ts';
import { multiAccountInput } from '../../support/multi-account.ts';

describe('Lambda config at cold start', () => {
  const saved = { ...process.env };
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-config-'));
    const file = join(dir, 'jit-policy.json');
    writeFileSync(file, JSON.stringify(testConfigInput()));
    process.env.JIT_POLICY_FILE = file;
    vi.resetModules();
  });
  afterEach(() => {
    process.env = { ...saved };
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a config whose targets are in another account than the function', async () => {
    // Prepare
    process.env.JIT_ACCOUNT_ID = '999999999999';
    const { policyConfig } = await import('#lambdas/runtime/config.ts');
    // Act
    const act = () => policyConfig();
    // Assess
    expect(act).toThrow(/targets are in account 111122223333, but the broker runs in 999999999999/);
  });

  it('loads a config with an accounts list whatever account the function runs in', async () => {
    // Prepare: targets in several listed accounts, none of them the function's.
    writeFileSync(process.env.JIT_POLICY_FILE as string, JSON.stringify(multiAccountInput()));
    process.env.JIT_ACCOUNT_ID = '999999999999';
    const { policyConfig } = await import('#lambdas/runtime/config.ts');
    // Act
    const config = policyConfig();
    // Assess
    expect(config.accounts?.length).toBe(3);
  });

  it('loads the config when the accounts agree', async () => {
    // Prepare
    process.env.JIT_ACCOUNT_ID = '111122223333';
    const { policyConfig } = await import('#lambdas/runtime/config.ts');
    // Act
    const config = policyConfig();
    // Assess
    expect(config.rules.map((r) => r.id)).toEqual(['app-read', 'logs-auto', 'user-read']);
  });
});
