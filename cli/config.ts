import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import * as z from 'zod/mini';
import { CliError, EXIT } from './errors.ts';

/**
 * What `jit configure` saves: the deployed API and how to reach it. Unknown keys are kept, so an older `jit`
 * does not drop what a newer one wrote.
 */
const configSchema = z.looseObject({
  /** The API's URL, stage included (`https://<id>.execute-api.<region>.amazonaws.com/v1`). */
  apiUrl: z.optional(z.string().check(z.url())),
  /** The API's region, when the URL does not say (a custom domain). */
  region: z.optional(z.string().check(z.minLength(1))),
  /** The AWS profile whose credentials sign the calls. */
  profile: z.optional(z.string().check(z.minLength(1))),
  /** `--local` only: the principal the local runtime is told the caller is. */
  principal: z.optional(z.string().check(z.minLength(1))),
});

/** The saved `jit` configuration. */
export type JitConfig = z.infer<typeof configSchema>;

type Env = Readonly<Record<string, string | undefined>>;

/** `$XDG_CONFIG_HOME/jit/config.json`, else `~/.config/jit/config.json`. */
export function configPath(env: Env = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'jit', 'config.json');
}

/** The saved configuration, or `{}` when there is none. Throws a CliError naming the file when it is invalid. */
export function readConfig(env: Env = process.env): JitConfig {
  const path = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON; fix it or run jit configure again`);
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(`${path}: ${issue?.path.join('.') || '(file)'} ${issue?.message ?? 'is invalid'}`);
  }
  return parsed.data;
}

/**
 * Saves the configuration, readable by its owner only (0600, in a 0700 directory): it names the account's
 * API and profile. Written to a temporary file and renamed, so a crash never leaves half a file.
 */
export function writeConfig(config: JitConfig, env: Env = process.env): string {
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(
      `${issue?.path.join('.') || 'config'} ${issue?.message ?? 'is invalid'}`,
      EXIT.INVALID,
    );
  }
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(parsed.data, null, 2)}\n`, { mode: 0o600 });
  // The mode of writeFileSync is filtered by the umask (and ignored for an existing file): set it outright.
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return path;
}
