import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cacheDir,
  cachePath,
  clampExpiration,
  EXPIRY_MARGIN_MS,
  forgetCached,
  isFresh,
  type ProcessCredentials,
  readCached,
  writeCached,
} from '../../../cli/credentials-cache.ts';

const dirs: string[] = [];
function tempEnv() {
  const dir = mkdtempSync(join(tmpdir(), 'jit-cache-'));
  dirs.push(dir);
  return { dir, env: { HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, 'xdg') } };
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const credentials = (expiration: string): ProcessCredentials => ({
  Version: 1,
  AccessKeyId: 'ASIAEXAMPLE',
  SecretAccessKey: 'secret',
  SessionToken: 'token',
  Expiration: expiration,
});

describe('credentials cache', () => {
  it('lives in $XDG_CACHE_HOME/jit, else ~/.cache/jit, one file per request id', () => {
    // Prepare
    const { dir, env } = tempEnv();
    // Act
    const xdg = cachePath('req-1', env);
    const home = cacheDir({ HOME: env.HOME });
    const relative = cacheDir({ HOME: env.HOME, XDG_CACHE_HOME: 'relative' });
    // Assess
    expect(xdg).toBe(join(dir, 'xdg', 'jit', 'req-1.json'));
    expect(home).toBe(join(dir, 'home', '.cache', 'jit'));
    expect(relative).toBe(home);
    expect(() => cachePath('../etc/passwd', env)).toThrow(/not a request id/);
  });

  it('writes the file 0600 in a 0700 directory, over a wider directory and with a loose umask', () => {
    // Prepare
    const { env } = tempEnv();
    mkdirSync(cacheDir(env), { recursive: true });
    chmodSync(cacheDir(env), 0o755);
    const oldUmask = process.umask(0o000);
    try {
      // Act
      const path = writeCached('req-1', credentials('2030-01-01T00:00:00.000Z'), env);
      // Assess
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(cacheDir(env)).mode & 0o777).toBe(0o700);
      expect(readCached('req-1', env)).toEqual(credentials('2030-01-01T00:00:00.000Z'));
    } finally {
      process.umask(oldUmask);
    }
  });

  it('reads nothing from a missing, foreign or malformed file, and forgets on demand', () => {
    // Prepare
    const { env } = tempEnv();
    writeCached('req-ok', credentials('2030-01-01T00:00:00.000Z'), env);
    writeFileSync(cachePath('req-bad', env), '{"Version":2}');
    writeFileSync(cachePath('req-text', env), 'not json');
    // Act
    forgetCached('req-ok', env);
    forgetCached('req-never', env);
    // Assess
    expect(readCached('req-ok', env)).toBeUndefined();
    expect(readCached('req-bad', env)).toBeUndefined();
    expect(readCached('req-text', env)).toBeUndefined();
  });

  it('clamps Expiration to the grant’s expiresAt, and leaves earlier credentials alone', () => {
    // Act
    const late = clampExpiration(credentials('2030-01-01T01:00:00Z'), '2030-01-01T00:30:00.000Z');
    const early = clampExpiration(credentials('2030-01-01T00:10:00Z'), '2030-01-01T00:30:00.000Z');
    const unknown = clampExpiration(credentials('2030-01-01T01:00:00Z'), undefined);
    // Assess
    expect(late.Expiration).toBe('2030-01-01T00:30:00.000Z');
    expect(early.Expiration).toBe('2030-01-01T00:10:00Z');
    expect(unknown.Expiration).toBe('2030-01-01T01:00:00Z');
  });

  it('is fresh until the margin before Expiration', () => {
    // Prepare
    const expiration = Date.parse('2030-01-01T00:00:00Z');
    const c = credentials('2030-01-01T00:00:00Z');
    // Act + Assess
    expect(isFresh(c, expiration - EXPIRY_MARGIN_MS - 1)).toBe(true);
    expect(isFresh(c, expiration - EXPIRY_MARGIN_MS)).toBe(false);
  });
});
