import middy from '@middy/core';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { evidenceArchivePort } from '../runtime/evidence-deps.ts';
import { log } from '../runtime/logger.ts';
import { invocationLog } from '../runtime/middleware.ts';
import { archiveStreamBatch } from './handler.ts';

const archive = evidenceArchivePort();

/**
 * Lambda entry of the evidence function (DynamoDB stream of the audit table): writes every audit event,
 * exactly as stored, to the write-once bucket. Partial batch failures, bisect on error and a DLQ are set on
 * the event source mapping, so a failed record is retried and never skipped.
 */
export const handler = middy(async (event: DynamoDBStreamEvent) =>
  archiveStreamBatch(archive, event, (id, error) => log.error('archive failed', error, { record: id })),
).use(invocationLog());
