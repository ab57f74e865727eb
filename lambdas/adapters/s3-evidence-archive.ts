import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { AlreadyArchivedError } from '#core/errors.ts';
import type { EvidenceArchive } from '#core/ports.ts';

/**
 * The evidence archive on S3 (a bucket with Object Lock): `put` is a conditional write (`If-None-Match: *`),
 * so S3 itself refuses an existing key (412), translated into AlreadyArchivedError;
 * a 409 (another write to the key in flight) is left to the stream's retry. Retention comes from the bucket's default Object Lock rule.
 */
export class S3EvidenceArchive implements EvidenceArchive {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.#client = client;
    this.#bucket = bucket;
  }

  async put(key: string, body: string): Promise<void> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          IfNoneMatch: '*',
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    } catch (error) {
      const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
      if (status === 412 || (error as Error).name === 'PreconditionFailed') {
        throw new AlreadyArchivedError(`${key} is already archived`);
      }
      throw error;
    }
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      return await out.Body?.transformToString('utf8');
    } catch (error) {
      if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = out.NextContinuationToken;
    } while (token);
    return keys.sort();
  }
}
