import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { canonicalJson, chainEvent, GENESIS_HASH } from '#core/audit/chain.ts';
import { headKey } from '#core/audit/digest.ts';
import { evidenceBody, evidenceKey } from '#core/audit/evidence.ts';
import { archiveStreamBatch } from '#lambdas/evidence/handler.ts';
import { MemoryArchive } from '../../support/memory-archive.ts';

const EVENT = chainEvent({
  requestId: 'req-1',
  seq: 1,
  from: null,
  to: 'REQUESTED',
  at: '2026-12-01T10:00:00.000Z',
  actor: 'arn:aws:sts::111122223333:assumed-role/Developer/alice',
  details: { ruleId: 'app-read', approvals: [{ by: 'bob', count: 2 }], note: null },
  prevHash: GENESIS_HASH,
});

/** A stream record of the event item as DynamoDB writes it (NEW_IMAGE). */
function record(seqNumber: string, actor = EVENT.actor): DynamoDBRecord {
  return {
    eventName: 'INSERT',
    dynamodb: {
      SequenceNumber: seqNumber,
      NewImage: {
        pk: { S: 'REQ#req-1' },
        sk: { S: 'EVT#000001' },
        requestId: { S: EVENT.requestId },
        seq: { N: '1' },
        from: { NULL: true },
        to: { S: EVENT.to },
        at: { S: EVENT.at },
        actor: { S: actor },
        details: {
          M: {
            ruleId: { S: 'app-read' },
            approvals: { L: [{ M: { by: { S: 'bob' }, count: { N: '2' } } }] },
            note: { NULL: true },
          },
        },
        prevHash: { S: EVENT.prevHash },
        hash: { S: EVENT.hash },
      },
    },
  };
}

const META: DynamoDBRecord = {
  eventName: 'MODIFY',
  dynamodb: { SequenceNumber: '50', NewImage: { pk: { S: 'REQ#req-1' }, sk: { S: 'META' } } },
};

const batch = (...Records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records });

describe('evidence function', () => {
  it('archives the event exactly as stored and ignores other items', async () => {
    // Prepare
    const archive = new MemoryArchive();
    // Act
    const out = await archiveStreamBatch(archive, batch(META, record('100')));
    // Assess
    expect(out).toEqual({ batchItemFailures: [] });
    expect([...archive.objects]).toEqual([
      [evidenceKey('req-1', 1), evidenceBody(EVENT)],
      [headKey(EVENT), canonicalJson({ requestId: 'req-1', seq: 1, hash: EVENT.hash })],
    ]);
  });

  it('succeeds on a redelivered batch without overwriting', async () => {
    // Prepare
    const archive = new MemoryArchive();
    await archiveStreamBatch(archive, batch(record('100')));
    // Act
    const out = await archiveStreamBatch(archive, batch(record('100')));
    // Assess
    expect(out).toEqual({ batchItemFailures: [] });
    expect(archive.objects.get(evidenceKey('req-1', 1))).toBe(evidenceBody(EVENT));
  });

  it('reports a poison record as the batch failure, so it is retried, bisected and sent to the DLQ', async () => {
    // Prepare
    const archive = new MemoryArchive();
    await archiveStreamBatch(archive, batch(record('100')));
    // Act
    const out = await archiveStreamBatch(archive, batch(META, record('200', 'someone-else')));
    // Assess
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: '200' }] });
    expect(archive.objects.get(evidenceKey('req-1', 1))).toBe(evidenceBody(EVENT));
  });
});
