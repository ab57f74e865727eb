import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { CredentialVault } from '#core/ports.ts';

/**
 * CredentialVault on KMS: the stack's key encrypts the credentials with the request id as encryption
 * context, so a ciphertext only opens for its own request (and CloudTrail logs every Decrypt with it).
 */
export class KmsVault implements CredentialVault {
  readonly #kms: KMSClient;
  readonly #keyId: string;

  constructor(kms: KMSClient, keyId: string) {
    this.#kms = kms;
    this.#keyId = keyId;
  }

  async seal(requestId: string, plaintext: string): Promise<string> {
    const out = await this.#kms.send(
      new EncryptCommand({
        KeyId: this.#keyId,
        Plaintext: new TextEncoder().encode(plaintext),
        EncryptionContext: { 'jit:request-id': requestId },
      }),
    );
    if (!out.CiphertextBlob) throw new Error('KMS Encrypt returned no ciphertext');
    return Buffer.from(out.CiphertextBlob).toString('base64');
  }

  async open(requestId: string, sealed: string): Promise<string> {
    const out = await this.#kms.send(
      new DecryptCommand({
        KeyId: this.#keyId,
        CiphertextBlob: Buffer.from(sealed, 'base64'),
        EncryptionContext: { 'jit:request-id': requestId },
      }),
    );
    if (!out.Plaintext) throw new Error('KMS Decrypt returned no plaintext');
    return new TextDecoder().decode(out.Plaintext);
  }
}
