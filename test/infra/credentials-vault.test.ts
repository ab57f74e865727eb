import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { BrokerFunction } from '../../lib/broker-function.ts';
import { CredentialsVault } from '../../lib/credentials-vault.ts';
import { testConfig } from '../support/fakes.ts';

describe('CredentialsVault', () => {
  it('refuses a function that would both seal and open credentials', () => {
    // Prepare: no bundling, the function's code is not under test.
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Probe');
    const fn = new BrokerFunction(stack, 'Both', { handler: 'grant', policy: testConfig() });
    // Act
    const vault = () => new CredentialsVault(stack, 'Vault', { sealers: [fn], openers: [fn] });
    // Assess
    expect(vault).toThrow(/Probe\/Both may not both seal and open/);
  });
});
