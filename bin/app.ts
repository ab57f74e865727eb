import { App } from 'aws-cdk-lib';
import { buildBrokerApp } from '../lib/app.ts';
import { DEFAULT_CONFIG_FILE, loadPolicyConfigFile } from '../lib/policy-file.ts';

/**
 * CDK entry: composes the stacks only. The policy config comes from `-c config=<file>` (default
 * jit.config.ts) and is validated before anything is built; a bad config stops synth naming the field.
 */
async function main(): Promise<void> {
  // One App only: an App synthesizes itself on exit, so a second "probe" App would overwrite the output.
  const app = new App();
  const file = (app.node.tryGetContext('config') as string | undefined) ?? DEFAULT_CONFIG_FILE;
  const policy = await loadPolicyConfigFile(file);
  // The grantor roles trust the broker's roles in the hub account: name it, or synth with its credentials.
  const hubAccount =
    (app.node.tryGetContext('hubAccount') as string | undefined) ??
    process.env.CDK_DEFAULT_ACCOUNT ??
    policy.hubAccountId;
  if (policy.accounts && !hubAccount) {
    throw new Error(
      'the config lists accounts: name the hub account (hubAccountId in the config, -c hubAccount=<12-digit id>, or synth with its credentials) so the grantor stacks can trust the broker roles',
    );
  }
  buildBrokerApp({
    app,
    policy,
    prefix: (app.node.tryGetContext('prefix') as string | undefined) ?? 'Jit',
    env: { account: hubAccount, region: process.env.CDK_DEFAULT_REGION },
    ...(hubAccount ? { hubAccount } : {}),
  });
  app.synth();
}

main().catch((error: unknown) => {
  console.error(`synth failed: ${(error as Error).message}`);
  process.exit(1);
});
