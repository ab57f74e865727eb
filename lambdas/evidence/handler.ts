import type { AttributeValue, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { archiveChanges, type ChangeRecord } from '#core/audit/evidence.ts';
import type { EvidenceArchive } from '#core/ports.ts';

/**
 * One stream attribute value as the document client reads it (the types the table holds: strings, numbers,
 * booleans, null, maps, lists, string sets), so the archived event is the one the store returns.
 */
export function fromAttribute(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL) return null;
  if (value.M) return unmarshall(value.M);
  if (value.L) return value.L.map(fromAttribute);
  if (value.SS) return new Set(value.SS);
  throw new Error(`unsupported attribute type ${Object.keys(value).join(',')}`);
}

/** A stream image as a plain object. */
export function unmarshall(image: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, fromAttribute(v)]));
}

/** Decodes the stream records (NEW_IMAGE) into change records; the id is the record's sequence number. */
export function changeRecords(event: DynamoDBStreamEvent): ChangeRecord[] {
  return event.Records.map((r) => ({
    id: r.dynamodb?.SequenceNumber ?? r.eventID ?? '',
    item: r.eventName === 'REMOVE' || !r.dynamodb?.NewImage ? undefined : unmarshall(r.dynamodb.NewImage),
  }));
}

/**
 * The evidence function's body: archives each event of the batch and reports the first failure (and so
 * everything after it) back to the stream as a partial batch failure.
 */
export async function archiveStreamBatch(
  archive: EvidenceArchive,
  event: DynamoDBStreamEvent,
  onError?: (id: string, error: unknown) => void,
): Promise<DynamoDBBatchResponse> {
  const { failedId } = await archiveChanges(archive, changeRecords(event), onError);
  return { batchItemFailures: failedId === undefined ? [] : [{ itemIdentifier: failedId }] };
}
