// local/fakes/: stand-ins for AWS and Slack services (IAM, STS, KMS, Slack) behind the core's ports.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CredentialVault } from '#core/ports.ts';

/** The key file {@link LocalVault.inDataDir} keeps in the data directory. */
export const LOCAL_VAULT_KEY_FILE = 'local-vault.key';

const KEY_BYTES = 32;

/**
 * A sealed blob that this vault cannot open: sealed under another key (e.g. a data directory whose key file
 * was replaced), for another request, or not a blob at all. The credentials in it are lost; nothing was
 * revealed. `code` is stable for mapping to an HTTP status.
 */
export class LocalVaultOpenError extends Error {
  override readonly name = 'LocalVaultOpenError';
  readonly code = 'SealedCredentialsUnreadable';
  readonly requestId: string;
  constructor(requestId: string, cause: unknown) {
    super(
      `the sealed credentials of request ${requestId} cannot be opened with this vault's key (sealed under another key, or damaged)`,
      { cause },
    );
    this.requestId = requestId;
  }
}

/**
 * Reads the 32-byte key from `file`, creating it (mode 0600) on first use. Creation is atomic: the key is
 * written to a private temporary file and linked into place, so a concurrent start reads a whole key.
 */
function loadOrCreateKey(file: string): Buffer {
  try {
    return readKey(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(tmp);
  }
  return readKey(file);
}

function readKey(file: string): Buffer {
  const text = readFileSync(file, 'utf8');
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(
      `${file}: not a local vault key (${KEY_BYTES} bytes, base64); delete it to start over (sealed credentials are then lost)`,
    );
  }
  // Only this user may read the key; tighten a copy whose mode was widened.
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return key;
}

/**
 * The local stand-in for the KMS vault: AES-256-GCM, the request id as additional authenticated data (KMS's
 * encryption context), so a blob only opens for its request. The key lives in this process only, unless
 * the vault is made with {@link LocalVault.inDataDir}: then it is kept next to the data it protects, so
 * credentials sealed before a restart still open after it.
 */
export class LocalVault implements CredentialVault {
  readonly #key: Buffer;

  /** A vault with the given 32-byte key, or a fresh random one that lives only in this process. */
  constructor(key: Buffer = randomBytes(KEY_BYTES)) {
    if (key.length !== KEY_BYTES) throw new Error(`a local vault key has ${KEY_BYTES} bytes`);
    this.#key = key;
  }

  /** A vault whose key is `<dataDir>/local-vault.key` (mode 0600), created on first use and reused after. */
  static inDataDir(dataDir: string): LocalVault {
    mkdirSync(dataDir, { recursive: true });
    return new LocalVault(loadOrCreateKey(join(dataDir, LOCAL_VAULT_KEY_FILE)));
  }

  async seal(requestId: string, plaintext: string): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(requestId));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** @throws LocalVaultOpenError when the blob does not open with this key for this request. */
  async open(requestId: string, sealed: string): Promise<string> {
    try {
      const raw = Buffer.from(sealed, 'base64');
      if (raw.length < 28) throw new Error('too short to be a sealed blob');
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(requestId));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new LocalVaultOpenError(requestId, error);
    }
  }
}
