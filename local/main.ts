import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_FILE, loadPolicyConfigFile } from '../lib/policy-file.ts';
import { envPort } from './config.ts';
import { startLocalBroker } from './runtime.ts';

const USAGE = `usage: npm start -- [--port <n>] [--config <file>] [--data-dir <dir>] [--retry-interval-ms <n>]

  --port               port on 127.0.0.1 (default: $PORT or 8787; 0 picks a free one)
  --config             policy config file, .ts/.js/.json (default: ${DEFAULT_CONFIG_FILE})
  --data-dir           keep DynamoDB Local's data in this directory (default: in memory)
  --retry-interval-ms  shorten every Retry interval of the workflow (default: as in the ASL)
  --session-scale      simulated STS credentials live DurationSeconds × this (default 1; e.g. 0.01)`;

function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(2);
}

function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    fail(`--${name} must be an integer between 0 and 65535, got "${value}"`);
  return n;
}

/** `npm start`: runs the whole broker on this machine until Ctrl-C. */
async function main(): Promise<void> {
  let args: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      options: {
        port: { type: 'string' },
        config: { type: 'string' },
        'data-dir': { type: 'string' },
        'retry-interval-ms': { type: 'string' },
        'session-scale': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  }
  try {
    args = parse();
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  if (args.values.help) {
    console.log(USAGE);
    return;
  }
  const port = intOption('port', args.values.port ?? envPort()) ?? 8787;
  const retryIntervalMs = intOption('retry-interval-ms', args.values['retry-interval-ms']);
  const scaleText = args.values['session-scale'];
  const sessionLifetimeScale = scaleText === undefined ? undefined : Number(scaleText);
  if (sessionLifetimeScale !== undefined && !(sessionLifetimeScale > 0 && sessionLifetimeScale <= 1)) {
    fail(`--session-scale must be a number in (0, 1], got "${scaleText}"`);
  }
  const configFile = args.values.config ?? DEFAULT_CONFIG_FILE;
  let config: Awaited<ReturnType<typeof loadPolicyConfigFile>>;
  try {
    config = await loadPolicyConfigFile(configFile);
  } catch (error) {
    fail((error as Error).message);
  }
  console.log(
    `config ${configFile}: ${config.rules.length} rule(s); starting DynamoDB Local and the workflow…`,
  );
  const broker = await startLocalBroker({
    config,
    port,
    ...(args.values['data-dir'] ? { dataDir: args.values['data-dir'] } : {}),
    ...(retryIntervalMs === undefined ? {} : { retryIntervalMs }),
    ...(sessionLifetimeScale === undefined ? {} : { sessionLifetimeScale }),
    // The third layer, as in AWS (there every 5 minutes): grants still held after expiry are revoked.
    sweepIntervalMs: 5000,
  });
  console.log(`listening on ${broker.url}`);
  if (broker.slack) {
    console.log(
      `fake Slack on ${broker.slack.fake.url} (cards: GET ${broker.url}/_local/slack); click like Slack: npm run slack:click -- --request <id> --user <slack user id>`,
    );
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping (DynamoDB Local pid ${broker.ddbPid ?? '-'})…`);
    broker.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => fail((error as Error).message));
