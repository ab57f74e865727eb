import { describe, expect, it } from 'vitest';
import { SnsAlerts } from '#adapters/sns-alerts.ts';
import { RetryableAwsError } from '#core/errors.ts';
import type { BrokerAlert } from '#core/ports.ts';
import { recordingContext, type Sent } from '../../support/signing-context.ts';

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:JitBroker-AlertTopic';

/** An alerts adapter whose HTTP calls are answered by `answer` and recorded in `sent`. */
function setup(answer: () => Response) {
  const { context, sent } = recordingContext(answer);
  return { alerts: new SnsAlerts({ ...context, topicArn: TOPIC }), sent };
}

const ALERT: BrokerAlert = {
  subject: 'BREAK-GLASS granted: INC-7 alice',
  text: 'Break-glass access was granted with no approval (request req-0001).\nWho: alice',
  fields: { type: 'break-glass-granted', requestId: 'req-0001', incident: 'INC-7' },
};

/** The form fields of a recorded call. */
const form = (call: Sent | undefined) => Object.fromEntries(new URLSearchParams(call?.body ?? ''));

describe('SnsAlerts', () => {
  it('publishes one form-encoded Publish call to the regional SNS endpoint', async () => {
    // Prepare
    const { alerts, sent } = setup(() => new Response('<PublishResponse/>', { status: 200 }));
    // Act
    await alerts.publish(ALERT);
    // Assess
    expect(sent).toHaveLength(1);
    const [call] = sent;
    expect(call?.url).toBe('https://sns.eu-west-1.amazonaws.com/');
    expect(call?.method).toBe('POST');
    expect(call?.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
    expect(form(call)).toEqual({
      Action: 'Publish',
      Version: '2010-03-31',
      TopicArn: TOPIC,
      Subject: 'BREAK-GLASS granted: INC-7 alice',
      Message: `${ALERT.text}\n\n${JSON.stringify(ALERT.fields, null, 2)}`,
    });
  });

  it('puts the text first and the fields as JSON after a blank line in the message', async () => {
    // Prepare
    const { alerts, sent } = setup(() => new Response('', { status: 200 }));
    // Act
    await alerts.publish(ALERT);
    // Assess
    const message = form(sent[0]).Message ?? '';
    const [text, json] = message.split('\n\n');
    expect(text).toBe(ALERT.text);
    expect(JSON.parse(json ?? '')).toEqual(ALERT.fields);
  });

  it('replaces non-ASCII and control characters in the subject and cuts it to 100 characters', async () => {
    // Prepare
    const { alerts, sent } = setup(() => new Response('', { status: 200 }));
    const subject = `BREAK-GLASS granted: INC–7 jürgen\n${'x'.repeat(200)}`;
    // Act
    await alerts.publish({ ...ALERT, subject });
    // Assess
    const sentSubject = form(sent[0]).Subject ?? '';
    expect(sentSubject).toHaveLength(100);
    expect(sentSubject.startsWith('BREAK-GLASS granted: INC?7 j?rgen?xxx')).toBe(true);
    expect(sentSubject).toMatch(/^[\x20-\x7e]+$/);
  });

  it('keeps a short ASCII subject as it is', async () => {
    // Prepare
    const { alerts, sent } = setup(() => new Response('', { status: 200 }));
    // Act
    await alerts.publish({ ...ALERT, subject: 'short' });
    // Assess
    expect(form(sent[0]).Subject).toBe('short');
  });

  it('signs the call with SigV4 for the sns service in the region, with the session token', async () => {
    // Prepare
    const { alerts, sent } = setup(() => new Response('', { status: 200 }));
    // Act
    await alerts.publish(ALERT);
    // Assess
    const headers = sent[0]?.headers ?? {};
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/sns\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers.authorization).toContain('content-type');
    expect(headers['x-amz-security-token']).toBe('token');
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it.each([500, 503, 429])('turns a %i answer into RetryableAwsError', async (status) => {
    // Prepare
    const { alerts } = setup(() => new Response('InternalError', { status }));
    // Act
    const out = alerts.publish(ALERT);
    // Assess
    await expect(out).rejects.toBeInstanceOf(RetryableAwsError);
    await expect(out).rejects.toThrow(`sns:Publish answered ${status} (retryable): InternalError`);
  });

  it('turns a 400 answer into a plain error carrying the body', async () => {
    // Prepare
    const body = '<ErrorResponse><Error><Code>InvalidParameter</Code></Error></ErrorResponse>';
    const { alerts } = setup(() => new Response(body, { status: 400 }));
    // Act
    const out = alerts.publish(ALERT);
    // Assess
    await expect(out).rejects.toThrow(`sns:Publish answered 400: ${body}`);
    await expect(out).rejects.not.toBeInstanceOf(RetryableAwsError);
  });

  it('cuts a long error body to 300 characters', async () => {
    // Prepare
    const { alerts } = setup(() => new Response('e'.repeat(1000), { status: 403 }));
    // Act
    const error = await alerts.publish(ALERT).catch((e: unknown) => e as Error);
    // Assess
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(`sns:Publish answered 403: ${'e'.repeat(300)}`);
  });
});
