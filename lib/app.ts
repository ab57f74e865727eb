import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type AppProps, type Environment, Token, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { listedAccounts } from '#core/policy/accounts.ts';
import type { PolicyConfig } from '#core/policy/config.ts';
import { BrokerStack } from './broker-stack.ts';
import { GrantorStack, GrantorStackSetStack } from './grantor-stack.ts';
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
  /**
   * The hub account (where the broker runs), which the grantor roles trust. With an `accounts` list the
   * grantor stacks (and the StackSet) are built only when it is known: given here, or `env.account`.
   * @default env.account
   */
  readonly hubAccount?: string;
}

/**
 * The composed app: stateful stack (audit table) + broker stack (functions, workflow, API), and, with an
 * `accounts` list, a grantor stack per listed account and, when configured, the grantor StackSet.
 */
export function buildBrokerApp(opts: BrokerAppOptions) {
  const app =
    opts.app ?? new App({ ...opts.appProps, context: { ...cdkJsonContext(), ...opts.appProps?.context } });
  const prefix = opts.prefix ?? 'Jit';
  const stateful = new StatefulStack(app, `${prefix}Stateful`, {
    env: opts.env,
    evidence: { mode: opts.policy.evidence.mode, retentionDays: opts.policy.evidence.retentionDays },
    audit: {
      ...(opts.policy.audit.athena ? { athena: opts.policy.audit.athena } : {}),
      ...(opts.policy.accounts ? { accounts: listedAccounts(opts.policy).map((a) => a.id) } : {}),
      ...(opts.policy.audit.regions ? { regions: opts.policy.audit.regions } : {}),
    },
  });
  const broker = new BrokerStack(app, `${prefix}Broker`, {
    env: opts.env,
    policy: opts.policy,
    table: stateful.table,
    evidence: stateful.evidence,
  });
  const nag = opts.nag ?? true;
  const hubAccount =
    opts.hubAccount ??
    (opts.env?.account && !Token.isUnresolved(opts.env.account) ? opts.env.account : undefined);
  const grantors: GrantorStack[] = [];
  let grantorStackSet: GrantorStackSetStack | undefined;
  if (opts.policy.accounts && hubAccount) {
    // The forwarders target the hub bus in the broker's region (when the synth knows it).
    const hubRegion = Token.isUnresolved(broker.region) ? undefined : broker.region;
    const common = {
      policy: opts.policy,
      hubAccount,
      brokerStackName: broker.stackName,
      ...(hubRegion ? { hubRegion } : {}),
    };
    // One stack per listed account, each deployed with that account's credentials.
    for (const account of listedAccounts(opts.policy)) {
      grantors.push(
        new GrantorStack(app, `${prefix}Grantor-${account.id}`, {
          ...common,
          env: { account: account.id, ...(opts.env?.region ? { region: opts.env.region } : {}) },
        }),
      );
    }
    // Or one StackSet for the organization, from the management or a delegated-admin account.
    if (opts.policy.grantorStackSet) {
      grantorStackSet = new GrantorStackSetStack(app, `${prefix}GrantorStackSet`, { ...common, nag });
    }
  }
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stateful, broker, grantors, grantorStackSet };
}
