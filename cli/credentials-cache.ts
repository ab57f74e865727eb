import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { requestId } from './client.ts';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The `credential_process` document (Version 1), as `GET /requests/{id}/credentials` answers it and as
 * `aws configure export-credentials --format process` prints it.
 */
export interface ProcessCredentials {
  readonly Version: 1;
  readonly AccessKeyId: string;
  readonly SecretAccessKey: string;
  readonly SessionToken: string;
  /** ISO 8601. */
  readonly Expiration: string;
}

/**
 * How long before their Expiration cached credentials stop being handed out: a caller that gets them
 * should still have time to use them (the AWS CLI and SDKs refresh a few minutes early too).
 */
export const EXPIRY_MARGIN_MS = 10_000;

/** `$XDG_CACHE_HOME/jit`, else `~/.cache/jit` (a relative XDG_CACHE_HOME is ignored, as the spec says). */
export function cacheDir(env: Env = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.cache');
  return join(base, 'jit');
}

/** The cache file of one request's credentials: `<cache dir>/<id>.json`. */
export function cachePath(id: string, env: Env = process.env): string {
  return join(cacheDir(env), `${requestId(id)}.json`);
}

/** True for a well-formed `credential_process` Version 1 document with an Expiration. */
export function isProcessCredentials(value: unknown): value is ProcessCredentials {
  const v = value as Partial<Record<keyof ProcessCredentials, unknown>> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.Version === 1 &&
    typeof v.AccessKeyId === 'string' &&
    typeof v.SecretAccessKey === 'string' &&
    typeof v.SessionToken === 'string' &&
    typeof v.Expiration === 'string' &&
    !Number.isNaN(Date.parse(v.Expiration))
  );
}

/**
 * The credentials with their Expiration moved back to the grant's `expiresAt` when STS let them live
 * longer (STS never issues less than 900 s, and the broker's session deny ends them at expiresAt anyway):
 * a caller never plans on credentials outliving the grant.
 */
export function clampExpiration(
  credentials: ProcessCredentials,
  expiresAt: string | undefined,
): ProcessCredentials {
  const grantEnd = expiresAt ? Date.parse(expiresAt) : Number.NaN;
  if (Number.isNaN(grantEnd) || Date.parse(credentials.Expiration) <= grantEnd) return credentials;
  return { ...credentials, Expiration: new Date(grantEnd).toISOString() };
}

/** True while the credentials may still be handed out: before Expiration less {@link EXPIRY_MARGIN_MS}. */
export function isFresh(credentials: ProcessCredentials, now = Date.now()): boolean {
  return Date.parse(credentials.Expiration) - EXPIRY_MARGIN_MS > now;
}

/** The cached credentials of a request (fresh or not), or undefined when none (or the file is not ours). */
export function readCached(id: string, env: Env = process.env): ProcessCredentials | undefined {
  let text: string;
  try {
    text = readFileSync(cachePath(id, env), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isProcessCredentials(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stores a request's credentials, readable by their owner only: the file 0600 in a 0700 directory (both
 * set outright, whatever the umask or an earlier mode), written to a temporary file and renamed, so a
 * reader never sees half a document. The file is the `credential_process` document itself, so
 * `credential_process = cat <file>` works too. Returns the path.
 */
export function writeCached(id: string, credentials: ProcessCredentials, env: Env = process.env): string {
  const path = cachePath(id, env);
  const dir = cacheDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const temp = `${path}.${process.pid}.tmp`;
  const { Version, AccessKeyId, SecretAccessKey, SessionToken, Expiration } = credentials;
  const document = { Version, AccessKeyId, SecretAccessKey, SessionToken, Expiration };
  writeFileSync(temp, `${JSON.stringify(document)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return path;
}

/** Removes a request's cached credentials (no error when there are none). */
export function forgetCached(id: string, env: Env = process.env): void {
  rmSync(cachePath(id, env), { force: true });
}
