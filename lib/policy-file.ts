import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '#core/errors.ts';
import { type PolicyConfig, parsePolicyConfig } from '#core/policy/config.ts';

/** The example config shipped with the repository, used when none is given. */
export const DEFAULT_CONFIG_FILE = 'jit.config.ts';

/**
 * Loads and validates a policy config file: `.json`, or a `.ts`/`.js`/`.mjs` module whose default export
 * is the config. Used at synth and by the local runtime, so both refuse the same bad files.
 */
export async function loadPolicyConfigFile(file: string): Promise<PolicyConfig> {
  const path = resolve(file);
  let raw: unknown;
  try {
    if (extname(path) === '.json') {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } else {
      raw = ((await import(pathToFileURL(path).href)) as { default?: unknown }).default;
    }
  } catch (error) {
    throw new ConfigError(`cannot read policy config ${file}: ${(error as Error).message}`);
  }
  try {
    return parsePolicyConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${file}: ${error.message}`, error.details);
    throw error;
  }
}
