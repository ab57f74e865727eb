import { describe, expect, it } from 'vitest';
import {
  type ActivityEvent,
  type ActivityQuery,
  combineSources,
  eventSourceOf,
  iamActionsOf,
} from '#core/audit/activity.ts';

function record(id: string, at: string): ActivityEvent {
  return {
    eventId: id,
    eventTime: at,
    eventSource: 's3.amazonaws.com',
    eventName: 'GetObject',
    awsRegion: 'us-east-1',
    recipientAccountId: '111122223333',
    eventCategory: 'Data',
    userIdentity: {},
    resources: [],
  };
}

const QUERY: ActivityQuery = {
  requestId: 'r',
  account: '111122223333',
  start: '2026-11-22T10:00:00Z',
  end: '2026-11-22T11:00:00Z',
  principalArn: 'arn:aws:iam::111122223333:role/app',
  eventSources: ['s3.amazonaws.com'],
};

describe('iamActionsOf', () => {
  it('names the IAM action behind CloudTrail event names that differ from it', () => {
    // Act / Assess
    expect(iamActionsOf({ eventSource: 's3.amazonaws.com', eventName: 'ListObjectsV2' })).toEqual([
      's3:ListObjectsV2',
      's3:ListBucket',
    ]);
    expect(iamActionsOf({ eventSource: 's3.amazonaws.com', eventName: 'HeadObject' })).toContain(
      's3:GetObject',
    );
    expect(iamActionsOf({ eventSource: 'lambda.amazonaws.com', eventName: 'GetFunction20150331v2' })).toEqual(
      ['lambda:GetFunction20150331v2', 'lambda:GetFunction'],
    );
    expect(iamActionsOf({ eventSource: 'dynamodb.amazonaws.com', eventName: 'GetItem' })).toEqual([
      'dynamodb:GetItem',
    ]);
  });

  it('maps IAM service prefixes to CloudTrail event sources', () => {
    expect(eventSourceOf('s3')).toBe('s3.amazonaws.com');
    expect(eventSourceOf('execute-api')).toBe('execute-api.amazonaws.com');
  });
});

describe('combineSources', () => {
  it('keeps a record two sources saw once, in time order, and reports every source', async () => {
    // Prepare
    const trail = {
      find: async () => ({
        events: [record('b', '2026-11-22T10:05:00Z'), record('a', '2026-11-22T10:01:00Z')],
        sources: [{ name: 'cloudtrail:x', eventClasses: ['management' as const], calls: 1, events: 2 }],
      }),
    };
    const athena = {
      find: async () => ({
        events: [record('a', '2026-11-22T10:01:00Z'), record('c', '2026-11-22T10:03:00Z')],
        sources: [
          { name: 'athena:x', eventClasses: ['management' as const, 'data' as const], calls: 3, events: 2 },
        ],
      }),
    };
    // Act
    const result = await combineSources([trail, athena]).find(QUERY);
    // Assess
    expect(result.events.map((e) => e.eventId)).toEqual(['a', 'c', 'b']);
    expect(result.sources.map((s) => s.name)).toEqual(['cloudtrail:x', 'athena:x']);
  });
});
