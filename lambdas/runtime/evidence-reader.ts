import { S3ArchiveReader } from '#adapters/s3-archive-reader.ts';
import type { EvidenceArchive } from '#core/ports.ts';
import { endpointOverride, evidenceBucket } from './config.ts';
import { documentClient } from './lambda-deps.ts';

/**
 * The archive, read-only, for the API function's verifier: signed GETs with the DynamoDB client's
 * credentials and region, no S3 client in the API bundle.
 */
export function evidenceReaderPort(): EvidenceArchive {
  const { config } = documentClient();
  const endpoint = endpointOverride('S3');
  return new S3ArchiveReader(
    { region: config.region, credentials: config.credentials, ...(endpoint ? { endpoint } : {}) },
    evidenceBucket(),
  );
}
