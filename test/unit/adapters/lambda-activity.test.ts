import { describe, expect, it } from 'vitest';
import { LambdaActivity, withinInvokeLimit } from '#adapters/lambda-activity.ts';
import type { ActivityQuery, ActivityResult } from '#core/audit/activity.ts';
import { RetryableAwsError } from '#core/errors.ts';
import { recordingContext } from '../../support/signing-context.ts';

const FUNCTION = 'JitBroker-ReviewFunctionFn-abc';
const A = '111122223333';

/** An activity adapter whose HTTP calls are answered by `answer` and recorded in `sent`. */
function setup(answer: () => Response, functionName = FUNCTION) {
  const { context, sent } = recordingContext(answer);
  return { activity: new LambdaActivity({ ...context, functionName }), sent };
}

const json = (value: unknown, headers: Record<string, string> = {}, status = 200) =>
  new Response(JSON.stringify(value), { status, headers });

const QUERY: ActivityQuery = {
  requestId: 'req-0001',
  account: A,
  start: '2026-11-22T10:00:00.000Z',
  end: '2026-11-22T10:30:00.000Z',
  principalArn: `arn:aws:iam::${A}:role/app-reader`,
  eventSources: ['s3.amazonaws.com'],
};

const RESULT: ActivityResult = {
  events: [
    {
      eventId: 'e-1',
      eventTime: '2026-11-22T10:05:00Z',
      eventSource: 's3.amazonaws.com',
      eventName: 'GetObject',
      awsRegion: 'eu-west-1',
      recipientAccountId: A,
      eventCategory: 'Data',
      userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::${A}:assumed-role/app-reader/alice` },
      resources: ['arn:aws:s3:::app-data/q3.csv'],
    },
  ],
  sources: [{ name: `cloudtrail:${A}:eu-west-1`, eventClasses: ['management'], calls: 1, events: 1 }],
};

describe('LambdaActivity', () => {
  it('invokes the review function synchronously with the find action and the query', async () => {
    // Prepare
    const { activity, sent } = setup(() => json(RESULT));
    // Act
    await activity.find(QUERY);
    // Assess
    expect(sent).toHaveLength(1);
    const [call] = sent;
    expect(call?.url).toBe(
      `https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/${FUNCTION}/invocations`,
    );
    expect(call?.method).toBe('POST');
    expect(JSON.parse(call?.body ?? '')).toEqual({ action: 'find', query: QUERY });
    expect(call?.headers['x-amz-invocation-type']).toBe('RequestResponse');
    expect(call?.headers['content-type']).toBe('application/json');
    expect(call?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/lambda\/aws4_request, /,
    );
    expect(call?.headers.authorization).toContain('x-amz-invocation-type');
  });

  it('encodes a function ARN into the invocations path', async () => {
    // Prepare
    const functionArn = `arn:aws:lambda:eu-west-1:${A}:function:review`;
    const { activity, sent } = setup(() => json(RESULT), functionArn);
    // Act
    await activity.find(QUERY);
    // Assess
    expect(sent[0]?.url).toBe(
      `https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/${encodeURIComponent(functionArn)}/invocations`,
    );
  });

  it("returns the review function's payload as the result", async () => {
    // Prepare
    const { activity } = setup(() => json(RESULT));
    // Act
    const out = await activity.find(QUERY);
    // Assess
    expect(out).toEqual(RESULT);
  });

  it('answers a function error with no events and one source reporting it', async () => {
    // Prepare
    const { activity } = setup(() =>
      json(
        { errorType: 'AccessDenied', errorMessage: 'not authorized to perform sts:AssumeRole' },
        { 'x-amz-function-error': 'Unhandled' },
      ),
    );
    // Act
    const out = await activity.find(QUERY);
    // Assess
    expect(out).toEqual({
      events: [],
      sources: [
        {
          name: 'review-function',
          eventClasses: [],
          calls: 1,
          events: 0,
          error: 'AccessDenied: not authorized to perform sts:AssumeRole',
        },
      ],
    });
  });

  it('reports a function error with an empty payload with default type and message', async () => {
    // Prepare
    const { activity } = setup(
      () => new Response('', { status: 200, headers: { 'x-amz-function-error': 'Unhandled' } }),
    );
    // Act
    const out = await activity.find(QUERY);
    // Assess
    expect(out.events).toEqual([]);
    expect(out.sources).toHaveLength(1);
    expect(out.sources[0]?.error).toBe('Error: the review function failed');
  });

  it.each([429, 500, 502, 503])('turns a %i answer into RetryableAwsError', async (status) => {
    // Prepare
    const { activity } = setup(() => json({ message: 'Rate exceeded' }, {}, status));
    // Act
    const out = activity.find(QUERY);
    // Assess
    await expect(out).rejects.toBeInstanceOf(RetryableAwsError);
    await expect(out).rejects.toThrow(`lambda:Invoke answered ${status} (retryable)`);
  });

  it('turns another failed answer into a plain error with the body', async () => {
    // Prepare
    const { activity } = setup(() => json({ message: 'AccessDenied' }, {}, 403));
    // Act
    const out = activity.find(QUERY);
    // Assess
    await expect(out).rejects.toThrow('lambda:Invoke answered 403: {"message":"AccessDenied"}');
    await expect(out).rejects.not.toBeInstanceOf(RetryableAwsError);
  });
});

describe('withinInvokeLimit', () => {
  const event = (i: number) => ({
    eventId: `e${i}`,
    eventTime: `2026-11-22T10:00:${String(i % 60).padStart(2, '0')}Z`,
    eventSource: 's3.amazonaws.com',
    eventName: 'ListBucket',
    awsRegion: 'us-east-1',
    recipientAccountId: '111122223333',
    eventCategory: 'Management' as const,
    userIdentity: {},
    resources: [],
  });
  const source = {
    name: 'cloudtrail:111122223333:us-east-1',
    eventClasses: ['management' as const],
    calls: 1,
    events: 5,
  };

  it('keeps a result within the limit as it is, and cuts a larger one, saying so', () => {
    // Prepare
    const small = { events: [0, 1, 2].map(event), sources: [source] };
    const large = { events: [0, 1, 2, 3, 4].map(event), sources: [source] };
    // Act
    const kept = withinInvokeLimit(small, 3);
    const cut = withinInvokeLimit(large, 3);
    // Assess
    expect(kept).toBe(small);
    expect(cut.events.map((e) => e.eventId)).toEqual(['e0', 'e1', 'e2']);
    expect(cut.sources.at(-1)?.error).toContain('first 3 of 5');
  });
});
