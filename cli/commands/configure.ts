import type { DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import type { Command } from 'commander';
import { type JitConfig, readConfig, writeConfig } from '../config.ts';
import { contextOf } from '../context.ts';
import { CliError, EXIT, oneLine } from '../errors.ts';

/** The broker stack's output that holds the API's URL (lib/broker-stack.ts). */
export const API_URL_OUTPUT = 'ApiUrl';

/** Where the broker's API is, as its stack says. */
export interface StackApi {
  readonly apiUrl: string;
  /** The region the stack was read in. */
  readonly region: string;
}

/** Errors of the SDK that mean "who you are may not do this" rather than "it is not there". */
const AUTH_ERRORS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
]);

/**
 * The `ApiUrl` output of the broker stack `stack` (CloudFormation DescribeStacks) in `region` (default: the
 * SDK's, from the environment or the profile), with the credentials of `profile` (default: the SDK chain).
 * The SDK client is loaded here only, so no other command pays for it.
 */
export async function readStackApi(
  stack: string,
  opts: { readonly region?: string; readonly profile?: string } = {},
): Promise<StackApi> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient({
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.profile ? { profile: opts.profile } : {}),
  });
  try {
    let region: string;
    try {
      region = await client.config.region();
    } catch {
      throw new CliError('no AWS region: pass --region or set AWS_REGION', EXIT.INVALID);
    }
    let answer: DescribeStacksCommandOutput;
    try {
      answer = await client.send(new DescribeStacksCommand({ StackName: stack }));
    } catch (e) {
      const error = e as Error & { name: string };
      if (error instanceof CliError) throw error;
      if (error.name === 'ValidationError' && /does not exist/.test(error.message)) {
        throw new CliError(`stack ${stack} not found in ${region}: check --stack and --region`);
      }
      const code = AUTH_ERRORS.has(error.name) ? EXIT.UNAUTHORIZED : EXIT.FAILURE;
      throw new CliError(
        `cannot read stack ${stack} in ${region}: ${error.name}: ${oneLine(error.message)}`,
        code,
      );
    }
    const found = answer.Stacks?.[0];
    if (!found) throw new CliError(`stack ${stack} not found in ${region}: check --stack and --region`);
    const apiUrl = found.Outputs?.find((o) => o.OutputKey === API_URL_OUTPUT)?.OutputValue;
    if (!apiUrl) {
      throw new CliError(
        `stack ${stack} (${found.StackStatus ?? 'unknown status'}) has no ${API_URL_OUTPUT} output: is it the broker stack?`,
      );
    }
    return { apiUrl, region };
  } finally {
    client.destroy();
  }
}

/** `jit configure`. */
export function registerConfigure(program: Command): void {
  program
    .command('configure')
    .description("save the broker API's URL: read from the broker stack, or given with --api")
    .option('--stack <name>', "the broker stack's name or ARN (reads its ApiUrl output)")
    .addHelpText(
      'after',
      `
Reads the ApiUrl output of the broker stack (CloudFormation DescribeStacks, with --profile and --region
or the SDK's defaults) and saves it, with the region and the profile, to ~/.config/jit/config.json
($XDG_CONFIG_HOME/jit/config.json), readable by you only (0600). Every other command reads it from there.

Examples:
  $ jit configure --stack JitBroker --region eu-west-1
  $ jit configure --api https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1`,
    )
    .action(async (flags: { stack?: string }, command: Command) => {
      const ctx = contextOf(command);
      const { opts, out } = ctx;
      if (!flags.stack && !opts.api)
        throw new CliError('--stack <name> is required (or --api <url>)', EXIT.INVALID);
      if (flags.stack && opts.api) throw new CliError('--stack or --api, not both', EXIT.INVALID);
      const found = flags.stack
        ? await readStackApi(flags.stack, {
            ...(opts.region ? { region: opts.region } : {}),
            ...(opts.profile ? { profile: opts.profile } : {}),
          })
        : undefined;
      let saved: JitConfig = {};
      try {
        saved = readConfig(ctx.env);
      } catch {
        // An unreadable or invalid config is what configure is run to replace.
      }
      const region = found?.region ?? opts.region ?? saved.region;
      const profile = opts.profile ?? saved.profile;
      const config: JitConfig = {
        ...saved,
        apiUrl: found?.apiUrl ?? opts.api,
        ...(region ? { region } : {}),
        ...(profile ? { profile } : {}),
      };
      const path = writeConfig(config, ctx.env);
      out.result(
        { path, apiUrl: config.apiUrl, region: config.region, profile: config.profile, stack: flags.stack },
        () => `saved ${config.apiUrl}${flags.stack ? ` (stack ${flags.stack}, ${region})` : ''} to ${path}`,
      );
    });
}
