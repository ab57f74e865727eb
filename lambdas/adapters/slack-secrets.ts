import { type SigningContext, signedPost } from './signed-fetch.ts';

/** Where a secret's string comes from (Secrets Manager in Lambda; tests pass their own). */
export type SecretSource = (secretId: string) => Promise<string | undefined>;

/**
 * Reads secrets once per cold start and keeps them in memory. A failed read is not cached, so the next
 * invocation tries again. Values are never logged and never part of an error message.
 */
export class SecretReader {
  readonly #source: SecretSource;
  readonly #cache = new Map<string, Promise<string>>();

  constructor(source: SecretSource) {
    this.#source = source;
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
    const value = (await this.#source(secretId))?.trim();
    if (!value) throw new Error(`secret ${secretId} has no string value`);
    return value;
  }
}

/**
 * Secrets Manager `GetSecretValue` as one signed JSON call (the SDK client would add about 13 KiB to every
 * function that refreshes Slack cards). An error answer becomes an Error named by the service's error type
 * (`ResourceNotFoundException`, `AccessDeniedException`…), never carrying a secret value.
 */
export function secretsManagerSource(ctx: SigningContext): SecretSource {
  return async (secretId) => {
    const response = await signedPost(ctx, {
      service: 'secretsmanager',
      host: (region) => `secretsmanager.${region}.amazonaws.com`,
      path: '/',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'secretsmanager.GetSecretValue',
      },
      body: JSON.stringify({ SecretId: secretId }),
    });
    const text = await response.text();
    if (!response.ok) {
      const type = ((JSON.parse(text || '{}') as { __type?: string }).__type ?? `HTTP${response.status}`)
        .split('#')
        .pop();
      throw Object.assign(new Error(`GetSecretValue of ${secretId} failed: ${type}`), { name: type });
    }
    return (JSON.parse(text) as { SecretString?: string }).SecretString;
  };
}
