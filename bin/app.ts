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
  buildBrokerApp({
    app,
    policy,
    prefix: (app.node.tryGetContext('prefix') as string | undefined) ?? 'Jit',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  app.synth();
}

main().catch((error: unknown) => {
  console.error(`synth failed: ${(error as Error).message}`);
  process.exit(1);
});
