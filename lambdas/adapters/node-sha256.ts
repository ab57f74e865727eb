import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

/** What the SigV4 signer's hash takes: text or bytes. */
type SourceData = string | ArrayBuffer | ArrayBufferView;

/**
 * SHA-256 (and HMAC-SHA-256 with a secret) on node:crypto, in the shape `SignatureV4` takes as `sha256`.
 * Shared by the Lambda invoke of the revoke function and the `jit` CLI, so neither pulls in a browser hash.
 */
export class NodeSha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
