import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type AppProps, type Environment, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { PolicyConfig } from '#core/policy/config.ts';
import { BrokerStack } from './broker-stack.ts';
import { StatefulStack } from './stateful-stack.ts';

/**
 * The feature flags of cdk.json, so an app built in process (tests, the local runtime, the benchmark)
 * synthesizes exactly what `cdk synth` does.
 */
export function cdkJsonContext(): Record<string, unknown> {
  const file = join(import.meta.dirname, '..', 'cdk.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
}

/** Options to build the broker app. */
export interface BrokerAppOptions {
  readonly policy: PolicyConfig;
  /** Stack name prefix. @default 'Jit' */
  readonly prefix?: string;
  readonly env?: Environment;
  /** Run cdk-nag's AwsSolutions pack. @default true */
  readonly nag?: boolean;
  readonly appProps?: AppProps;
  /** Build into this app instead of a new one (the CDK entry reads its context first). */
  readonly app?: App;
}

/** The composed app: stateful stack (audit table) + broker stack (functions, workflow, API). */
export function buildBrokerApp(opts: BrokerAppOptions) {
  const app =
    opts.app ?? new App({ ...opts.appProps, context: { ...cdkJsonContext(), ...opts.appProps?.context } });
  const prefix = opts.prefix ?? 'Jit';
  const stateful = new StatefulStack(app, `${prefix}Stateful`, { env: opts.env });
  const broker = new BrokerStack(app, `${prefix}Broker`, {
    env: opts.env,
    policy: opts.policy,
    table: stateful.table,
  });
  if (opts.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stateful, broker };
}
