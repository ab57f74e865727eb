import type { Command } from 'commander';
import { type ClientSettings, isLoopbackUrl, JitClient, LOCAL_DEFAULT_URL, regionOfHost } from './client.ts';
import { type JitConfig, readConfig } from './config.ts';
import { CliError, EXIT } from './errors.ts';
import { Output } from './output.ts';

/** The options every `jit` command takes (declared on the program). */
export interface GlobalOptions {
  readonly api?: string;
  readonly profile?: string;
  readonly region?: string;
  readonly local?: boolean;
  readonly as?: string;
  readonly json?: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/**
 * Where and as whom to call, from the options, the environment and the saved config. The API URL is the
 * first of `--api`, `JIT_API_URL`, the saved config's `apiUrl`, and with `--local` `http://127.0.0.1:8787`;
 * with `--local` a saved URL is used only when it is a loopback one (the saved one is usually the deployed
 * API). The config is read only when the options and environment leave something open.
 */
export function resolveSettings(
  opts: GlobalOptions,
  env: Env = process.env,
  config: () => JitConfig = () => readConfig(env),
): ClientSettings {
  let saved: JitConfig | undefined;
  const cfg = () => {
    saved ??= config();
    return saved;
  };
  if (opts.as !== undefined && !opts.local) {
    throw new CliError('--as names the caller of the local runtime only: add --local', EXIT.INVALID);
  }
  const explicit = opts.api ?? env.JIT_API_URL;
  let apiUrl = explicit;
  if (!apiUrl) {
    const savedUrl = cfg().apiUrl;
    const usable = savedUrl && (!opts.local || isLoopbackUrl(safeUrl(savedUrl) ?? new URL('http://invalid')));
    apiUrl = usable ? savedUrl : opts.local ? LOCAL_DEFAULT_URL : undefined;
  }
  if (!apiUrl) {
    throw new CliError('no API URL: pass --api <url>, set JIT_API_URL or run jit configure', EXIT.INVALID);
  }
  if (opts.local) {
    const principal = opts.as ?? env.JIT_PRINCIPAL ?? cfg().principal;
    if (!principal) {
      throw new CliError('--local needs the caller: --as <principal ARN> or JIT_PRINCIPAL', EXIT.INVALID);
    }
    return { apiUrl, local: { principal } };
  }
  const host = safeUrl(apiUrl)?.hostname ?? '';
  const region =
    opts.region ?? regionOfHost(host) ?? cfg().region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const profile = opts.profile ?? cfg().profile;
  return { apiUrl, ...(region ? { region } : {}), ...(profile ? { profile } : {}) };
}

/** What a command works with: its output, and the client (made on first use, so `jit completion` needs none). */
export class CliContext {
  readonly opts: GlobalOptions;
  readonly out: Output;
  readonly env: Env;
  #client: JitClient | undefined;

  constructor(opts: GlobalOptions, env: Env = process.env) {
    this.opts = opts;
    this.env = env;
    this.out = new Output({ json: opts.json ?? false, env });
  }

  get client(): JitClient {
    this.#client ??= new JitClient(resolveSettings(this.opts, this.env));
    return this.#client;
  }
}

/** The context of a command's action, from its own and the program's options. */
export function contextOf(command: Command): CliContext {
  return new CliContext(command.optsWithGlobals<GlobalOptions>());
}
