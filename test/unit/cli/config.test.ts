import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configPath, readConfig, writeConfig } from '../../../cli/config.ts';
import { CliError } from '../../../cli/errors.ts';

const dirs: string[] = [];
function tempEnv() {
  const dir = mkdtempSync(join(tmpdir(), 'jit-config-'));
  dirs.push(dir);
  return { dir, env: { HOME: join(dir, 'home'), XDG_CONFIG_HOME: join(dir, 'xdg') } };
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('config file', () => {
  it('lives in $XDG_CONFIG_HOME/jit, else ~/.config/jit', () => {
    // Prepare
    const { dir, env } = tempEnv();
    // Act
    const xdg = configPath(env);
    const home = configPath({ HOME: env.HOME });
    const relativeXdg = configPath({ HOME: env.HOME, XDG_CONFIG_HOME: 'relative/path' });
    // Assess
    expect(xdg).toBe(join(dir, 'xdg', 'jit', 'config.json'));
    expect(home).toBe(join(dir, 'home', '.config', 'jit', 'config.json'));
    expect(relativeXdg).toBe(home);
  });

  it('is written readable by its owner only (0600), even over a wider file and with a loose umask', () => {
    // Prepare
    const { env } = tempEnv();
    const oldUmask = process.umask(0o000);
    try {
      writeConfig({ apiUrl: 'https://a1b2c3.execute-api.eu-west-1.amazonaws.com/v1' }, env);
      const path = configPath(env);
      writeFileSync(path, '{}', { mode: 0o644 });
      // Act
      writeConfig({ apiUrl: 'https://a1b2c3.execute-api.eu-west-1.amazonaws.com/v1', profile: 'dev' }, env);
      // Assess
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
        apiUrl: 'https://a1b2c3.execute-api.eu-west-1.amazonaws.com/v1',
        profile: 'dev',
      });
    } finally {
      process.umask(oldUmask);
    }
  });

  it('reads back what it wrote, and {} when there is no file', () => {
    // Prepare
    const { env } = tempEnv();
    const empty = readConfig(env);
    writeConfig({ apiUrl: 'https://x.execute-api.us-east-1.amazonaws.com/v1', region: 'us-east-1' }, env);
    // Act
    const saved = readConfig(env);
    // Assess
    expect(empty).toEqual({});
    expect(saved).toEqual({
      apiUrl: 'https://x.execute-api.us-east-1.amazonaws.com/v1',
      region: 'us-east-1',
    });
  });

  it('names the file when it is not valid JSON or holds a bad URL', () => {
    // Prepare
    const { env } = tempEnv();
    writeConfig({}, env);
    const path = configPath(env);
    writeFileSync(path, '{ not json');
    const broken = () => readConfig(env);
    // Act + Assess
    expect(broken).toThrow(CliError);
    expect(broken).toThrow(`${path} is not valid JSON`);
    writeFileSync(path, JSON.stringify({ apiUrl: 'not a url' }));
    expect(() => readConfig(env)).toThrow(`${path}: apiUrl`);
  });
});
