import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * Reads secrets from Secrets Manager once per cold start and keeps them in memory. A failed read is not
 * cached, so the next invocation tries again. Values are never logged and never part of an error message.
 */
export class SecretReader {
  readonly #sm: SecretsManagerClient;
  readonly #cache = new Map<string, Promise<string>>();

  constructor(sm: SecretsManagerClient) {
    this.#sm = sm;
  }

  /** The secret's string value (`SecretString`, trimmed), by name or ARN. */
  read(secretId: string): Promise<string> {
    let value = this.#cache.get(secretId);
    if (!value) {
      value = this.#fetch(secretId);
      this.#cache.set(secretId, value);
      value.catch(() => this.#cache.delete(secretId));
    }
    return value;
  }

  async #fetch(secretId: string): Promise<string> {
    const out = await this.#sm.send(new GetSecretValueCommand({ SecretId: secretId }));
    const value = out.SecretString?.trim();
    if (!value) throw new Error(`secret ${secretId} has no string value`);
    return value;
  }
}
