import { S3Client } from '@aws-sdk/client-s3';
import { S3EvidenceArchive } from '#adapters/s3-evidence-archive.ts';
import type { EvidenceArchive } from '#core/ports.ts';
import { evidenceBucket } from './config.ts';

/**
 * The evidence archive on S3. Kept apart from `lambda-deps.ts` so only the functions that archive or
 * verify import the S3 client (and bundle it).
 */
export function evidenceArchivePort(): EvidenceArchive {
  return new S3EvidenceArchive(new S3Client({}), evidenceBucket());
}
