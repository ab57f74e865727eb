import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { CredentialVault } from '#core/ports.ts';

/**
 * The local stand-in for the KMS vault: AES-256-GCM with a key that lives only in this process, the request
 * id as additional authenticated data (KMS's encryption context), so a blob only opens for its request.
 */
export class LocalVault implements CredentialVault {
  readonly #key = randomBytes(32);

  async seal(requestId: string, plaintext: string): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(requestId));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  async open(requestId: string, sealed: string): Promise<string> {
    const raw = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(requestId));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
