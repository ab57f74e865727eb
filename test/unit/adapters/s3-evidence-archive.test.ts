import 'aws-sdk-client-mock-vitest/extend';
import { ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3EvidenceArchive } from '#adapters/s3-evidence-archive.ts';
import { AlreadyArchivedError } from '#core/errors.ts';

describe('S3EvidenceArchive', () => {
  const client = new S3Client({ region: 'us-east-1' });
  const s3 = mockClient(client);
  const archive = new S3EvidenceArchive(client, 'evidence-bucket');

  beforeEach(() => {
    s3.reset();
  });

  it('writes only if the key is absent', async () => {
    // Prepare
    s3.on(PutObjectCommand).resolves({});
    // Act
    await archive.put('events/r/0000000001.json', '{}');
    // Assess
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'evidence-bucket',
      Key: 'events/r/0000000001.json',
      IfNoneMatch: '*',
    });
  });

  it('translates a failed precondition into AlreadyArchivedError', async () => {
    // Prepare
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({
        name: 'PreconditionFailed',
        $fault: 'client',
        $metadata: { httpStatusCode: 412 },
        message: 'At least one of the pre-conditions you specified did not hold',
      }),
    );
    // Act
    const put = archive.put('events/r/0000000001.json', '{}');
    // Assess
    await expect(put).rejects.toBeInstanceOf(AlreadyArchivedError);
  });

  it('leaves any other failure to the stream retry', async () => {
    // Prepare
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({
        name: 'ConditionalRequestConflict',
        $fault: 'client',
        $metadata: { httpStatusCode: 409 },
        message: 'conflict',
      }),
    );
    // Act
    const put = archive.put('events/r/0000000001.json', '{}');
    // Assess
    await expect(put).rejects.not.toBeInstanceOf(AlreadyArchivedError);
  });

  it('lists every page of a prefix in key order', async () => {
    // Prepare
    s3.on(ListObjectsV2Command)
      .resolvesOnce({ Contents: [{ Key: 'events/r/0000000002.json' }], NextContinuationToken: 't' })
      .resolvesOnce({ Contents: [{ Key: 'events/r/0000000001.json' }] });
    // Act
    const keys = await archive.list('events/r/');
    // Assess
    expect(keys).toEqual(['events/r/0000000001.json', 'events/r/0000000002.json']);
  });
});
