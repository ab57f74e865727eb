import { describe, expect, it } from 'vitest';
import { activityEventOfRecord } from '#adapters/cloudtrail-activity.ts';

const A = '111122223333';
const SESSION = `arn:aws:sts::${A}:assumed-role/jit-release-prod/jit-req-0001`;

/** The `detail` of an EventBridge "AWS API Call via CloudTrail" event: a CloudTrail record. */
function detail(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLEROLE00001:jit-req-0001',
      arn: SESSION,
      accountId: A,
      accessKeyId: 'ASIAEXAMPLEKEY000001',
      sessionContext: {
        sourceIdentity: 'alice',
        attributes: { creationDate: '2026-11-22T10:00:00Z', mfaAuthenticated: 'false' },
      },
    },
    eventTime: '2026-11-22T10:02:00Z',
    eventSource: 's3.amazonaws.com',
    eventName: 'PutObject',
    awsRegion: 'eu-west-1',
    sourceIPAddress: '203.0.113.10',
    userAgent: 'aws-cli/2.17.0',
    requestParameters: { bucketName: 'release', key: 'app/v1.2.3/app.zip' },
    eventID: '0f1e2d3c-0000-4000-8000-000000000001',
    readOnly: false,
    resources: [
      { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::release/app/v1.2.3/app.zip' },
      { accountId: A, type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::release' },
    ],
    eventType: 'AwsApiCall',
    managementEvent: false,
    recipientAccountId: A,
    eventCategory: 'Data',
    ...overrides,
  };
}

describe('activityEventOfRecord', () => {
  it('reads an EventBridge detail record into an activity event', () => {
    // Prepare
    const record = detail();
    // Act
    const event = activityEventOfRecord(record);
    // Assess
    expect(event).toEqual({
      eventId: '0f1e2d3c-0000-4000-8000-000000000001',
      eventTime: '2026-11-22T10:02:00Z',
      eventSource: 's3.amazonaws.com',
      eventName: 'PutObject',
      awsRegion: 'eu-west-1',
      recipientAccountId: A,
      eventCategory: 'Data',
      readOnly: false,
      userIdentity: {
        type: 'AssumedRole',
        arn: SESSION,
        principalId: 'AROAEXAMPLEROLE00001:jit-req-0001',
        accessKeyId: 'ASIAEXAMPLEKEY000001',
        sourceIdentity: 'alice',
      },
      sourceIPAddress: '203.0.113.10',
      userAgent: 'aws-cli/2.17.0',
      resources: ['arn:aws:s3:::release/app/v1.2.3/app.zip', 'arn:aws:s3:::release'],
    });
  });

  it('keeps the error of a refused call', () => {
    // Prepare
    const record = detail({ errorCode: 'AccessDenied', errorMessage: 'User is not authorized' });
    // Act
    const event = activityEventOfRecord(record);
    // Assess
    expect(event?.errorCode).toBe('AccessDenied');
    expect(event?.errorMessage).toBe('User is not authorized');
  });

  it('reads a management record with no resources, category or readOnly', () => {
    // Prepare
    const record = detail({
      eventSource: 'sts.amazonaws.com',
      eventName: 'GetCallerIdentity',
      resources: undefined,
      eventCategory: 'Management',
      readOnly: undefined,
    });
    // Act
    const event = activityEventOfRecord(record);
    // Assess
    expect(event?.eventCategory).toBe('Management');
    expect(event?.resources).toEqual([]);
    expect(event).not.toHaveProperty('readOnly');
    expect(event?.eventName).toBe('GetCallerIdentity');
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', '{"eventID":"x"}'],
    ['a number', 42],
    ['an array', [detail()]],
  ])('answers undefined for %s', (_what, record) => {
    // Prepare: nothing
    // Act
    const event = activityEventOfRecord(record);
    // Assess
    expect(event).toBeUndefined();
  });

  it.each(['eventID', 'eventTime', 'eventSource', 'eventName'])(
    'answers undefined for a record without %s',
    (field) => {
      // Prepare
      const record = detail({ [field]: undefined });
      // Act
      const event = activityEventOfRecord(record);
      // Assess
      expect(event).toBeUndefined();
    },
  );
});
