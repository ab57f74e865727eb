import 'aws-sdk-client-mock-vitest/extend';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoAuditStore } from '#adapters/dynamo-audit-store.ts';
import { DynamoSlackCards } from '#adapters/dynamo-slack-cards.ts';
import { SfnWorkflow } from '#adapters/sfn-workflow.ts';
import { SlackWebApi } from '#adapters/slack-web-api.ts';
import type { AccessRequest } from '#core/model.ts';
import type { Deps } from '#core/ports.ts';
import { slackSignature } from '#core/slack/signature.ts';
import { createSlackHandler } from '#lambdas/slack/handler.ts';
import { clickBody } from '../../../local/slack-click.ts';
import { ALICE, arn, BOB, fakeDeps, testConfig } from '../../support/fakes.ts';

const SECRET = 'test-signing-secret-0123456789abcdef';
const NOW = new Date('2026-11-22T10:05:00Z');
const TS = Math.floor(NOW.getTime() / 1000);
const TABLE = 'jit-test';
const TOKEN = 'task-token-from-dynamodb';
const RESPONSE_URL = 'https://hooks.slack.com/actions/T0/1/abc';
const STATE_MACHINE = 'arn:aws:states:us-east-1:111122223333:stateMachine:Jit';

const config = testConfig({
  slack: {
    defaultChannel: 'C0APPROVALS',
    users: {
      U0BOB: { approver: BOB },
      U0ALICE: { requester: [ALICE], approver: arn.assumed('Approver', 'alice-admin') },
    },
  },
});

const pendingItem: AccessRequest & { pk: string; sk: string } = {
  pk: 'REQ#req-0001',
  sk: 'META',
  id: 'req-0001',
  status: 'PENDING_APPROVAL',
  version: 2,
  lastHash: 'a'.repeat(64),
  requester: ALICE,
  target: arn.role('app-reader'),
  targetType: 'role',
  kind: 'policy',
  ruleId: 'app-read',
  permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::app-data/reports/*'] }],
  durationSeconds: 900,
  reason: 'read the report',
  approvals: [],
  createdAt: '2026-11-22T10:00:00.000Z',
  updatedAt: '2026-11-22T10:00:01.000Z',
  taskToken: TOKEN,
};

const card = {
  claimId: 'c',
  claimedAt: '2026-11-22T10:00:01Z',
  windowEndsAt: '2026-11-22T10:59:51Z',
  channel: 'C0APPROVALS',
  ts: '1795341601.000100',
  version: 2,
};

function event(body: string, headers: Record<string, string>, base64 = false): APIGatewayProxyEvent {
  return {
    resource: '/slack/interactions',
    path: '/slack/interactions',
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: base64 ? Buffer.from(body, 'utf8').toString('base64') : body,
    isBase64Encoded: base64,
    requestContext: { identity: {} },
  } as unknown as APIGatewayProxyEvent;
}

/** Headers as Slack sends them (API Gateway keeps the sender's capitalization). */
function signed(body: string, secret = SECRET, ts = TS): Record<string, string> {
  return {
    'X-Slack-Request-Timestamp': String(ts),
    'X-Slack-Signature': slackSignature(secret, String(ts), body),
  };
}

function click(slackUserId = 'U0BOB', action: 'approve' | 'deny' = 'approve'): string {
  return clickBody({
    requestId: 'req-0001',
    slackUserId,
    action,
    responseUrl: RESPONSE_URL,
    channel: 'C0APPROVALS',
    messageTs: card.ts,
  });
}

describe('Slack callback handler', () => {
  const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const sfn = new SFNClient({});
  const ddbMock = mockClient(ddb);
  const sfnMock = mockClient(sfn);
  const fetchMock = vi.fn<typeof fetch>();
  const secretReads = vi.fn(async () => SECRET);

  function handler(overrides: { followUpBudgetMs?: number } = {}) {
    const { deps: base } = fakeDeps(config);
    const deps: Deps = {
      ...base,
      store: new DynamoAuditStore(ddb, TABLE),
      workflow: new SfnWorkflow(sfn, STATE_MACHINE),
      clock: { now: () => NOW },
    };
    return createSlackHandler({
      deps,
      config,
      clock: deps.clock,
      api: new SlackWebApi({ token: async () => 'xoxb-test' }),
      cards: new DynamoSlackCards(ddb, TABLE),
      onError: () => {},
      signingSecret: secretReads,
      ...overrides,
    });
  }

  beforeEach(() => {
    ddbMock.reset();
    sfnMock.reset();
    fetchMock.mockReset();
    secretReads.mockClear();
    // The handler logs each click and failure as JSON lines; keep the test output readable.
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
    fetchMock.mockImplementation(async () => Response.json({ ok: true }));
    vi.stubGlobal('fetch', fetchMock);
    ddbMock.on(GetCommand).resolves({ Item: pendingItem });
    ddbMock.on(GetCommand, { ProjectionExpression: '#card' }).resolves({ Item: { slackCard: card } });
    ddbMock.on(TransactWriteCommand).resolves({});
    ddbMock.on(UpdateCommand).resolves({});
    sfnMock.on(SendTaskSuccessCommand).resolves({});
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  /** Nothing was read or written, no task token answered, nothing sent to Slack. */
  function expectNoSideEffects() {
    expect(ddbMock.calls()).toHaveLength(0);
    expect(sfnMock.calls()).toHaveLength(0);
    expect(fetchMock).not.toHaveBeenCalled();
  }

  describe('signature', () => {
    it('accepts a validly signed click, records it and answers the stored task token once', async () => {
      // Prepare
      const body = click();
      // Act
      const res = await handler()(event(body, signed(body)));
      // Assess
      expect(res.statusCode).toBe(200);
      expect(ddbMock).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      expect(sfnMock).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: TOKEN });
    });

    it('refuses a signature made with another secret, with no side effect', async () => {
      // Prepare
      const body = click();
      // Act
      const res = await handler()(event(body, signed(body, 'another-secret')));
      // Assess
      expect(res.statusCode).toBe(401);
      expect(JSON.parse(res.body)).toEqual({
        error: { code: 'Unauthenticated', message: 'bad or stale Slack signature' },
      });
      expectNoSideEffects();
    });

    it('refuses a body tampered by one byte, with no side effect', async () => {
      // Prepare
      const body = click();
      const tampered = body.replace('U0BOB', 'U0BOC');
      // Act
      const res = await handler()(event(tampered, signed(body)));
      // Assess
      expect(tampered).not.toBe(body);
      expect(res.statusCode).toBe(401);
      expectNoSideEffects();
    });

    it('refuses a correctly signed click whose timestamp is 6 minutes old, with no side effect', async () => {
      // Prepare
      const body = click();
      // Act
      const res = await handler()(event(body, signed(body, SECRET, TS - 360)));
      // Assess
      expect(res.statusCode).toBe(401);
      expectNoSideEffects();
    });

    it.each([
      [
        'no signature header',
        (h: Record<string, string>) => ({
          'X-Slack-Request-Timestamp': h['X-Slack-Request-Timestamp'] ?? '',
        }),
      ],
      [
        'no timestamp header',
        (h: Record<string, string>) => ({ 'X-Slack-Signature': h['X-Slack-Signature'] ?? '' }),
      ],
      ['no Slack headers at all', () => ({})],
    ])('refuses a request with %s before reading any secret, with no side effect', async (_name, pick) => {
      // Prepare
      const body = click();
      // Act
      const res = await handler()(event(body, pick(signed(body))));
      // Assess
      expect(res.statusCode).toBe(401);
      expect(secretReads).not.toHaveBeenCalled();
      expectNoSideEffects();
    });

    it('verifies a base64-encoded body over its decoded bytes and accepts it', async () => {
      // Prepare
      const body = click();
      // Act
      const res = await handler()(event(body, signed(body), true));
      // Assess
      expect(res.statusCode).toBe(200);
      expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    });

    it('refuses a base64 body whose signature was computed over the base64 text, with no side effect', async () => {
      // Prepare
      const body = click();
      const encoded = Buffer.from(body, 'utf8').toString('base64');
      // Act
      const res = await handler()(event(body, signed(encoded), true));
      // Assess
      expect(res.statusCode).toBe(401);
      expectNoSideEffects();
    });

    it('finds the headers whatever their case', async () => {
      // Prepare
      const body = click();
      const headers = Object.fromEntries(Object.entries(signed(body)).map(([k, v]) => [k.toLowerCase(), v]));
      // Act
      const res = await handler()(event(body, headers));
      // Assess
      expect(res.statusCode).toBe(200);
    });
  });

  describe('after verification', () => {
    it('refreshes the card with chat.update and sends no ephemeral on a final decision', async () => {
      // Prepare
      const body = click();
      // Act
      await handler()(event(body, signed(body)));
      // Assess
      const urls = fetchMock.mock.calls.map(([url]) => String(url));
      expect(urls).toEqual(['https://slack.com/api/chat.update']);
      const sent = JSON.parse(String(fetchMock.mock.calls[0]?.[1]?.body));
      expect(sent).toMatchObject({ channel: 'C0APPROVALS', ts: card.ts });
    });

    it('tells the requester through response_url that they cannot decide, and writes nothing', async () => {
      // Prepare
      const body = click('U0ALICE');
      // Act
      const res = await handler()(event(body, signed(body)));
      // Assess
      expect(res.statusCode).toBe(200);
      expect(ddbMock).toHaveReceivedCommandTimes(TransactWriteCommand, 0);
      expect(sfnMock.calls()).toHaveLength(0);
      expect(fetchMock).toHaveBeenCalledTimes(1);
      const [url, init] = fetchMock.mock.calls[0] ?? [];
      expect(url).toBe(RESPONSE_URL);
      expect(JSON.parse(String(init?.body))).toEqual({
        response_type: 'ephemeral',
        replace_original: false,
        text: expect.stringContaining('someone else has to decide'),
      });
    });

    it('never posts to a response_url outside Slack', async () => {
      // Prepare
      const body = clickBody({
        requestId: 'req-0001',
        slackUserId: 'U0ALICE',
        action: 'approve',
        responseUrl: 'https://attacker.example/collect',
      });
      // Act
      const res = await handler()(event(body, signed(body)));
      // Assess
      expect(res.statusCode).toBe(200);
      expect(fetchMock).not.toHaveBeenCalled();
    });

    it('answers 200 without touching the store for interactions that are not ours', async () => {
      // Prepare
      const body = new URLSearchParams({
        payload: JSON.stringify({ type: 'view_closed', user: { id: 'U0BOB' } }),
      }).toString();
      // Act
      const res = await handler()(event(body, signed(body)));
      // Assess
      expect(res.statusCode).toBe(200);
      expectNoSideEffects();
    });

    it('answers 400 to a signed but malformed payload, and writes nothing', async () => {
      // Prepare
      const body = 'payload=%7Bnot-json';
      // Act
      const res = await handler()(event(body, signed(body)));
      // Assess
      expect(res.statusCode).toBe(400);
      expectNoSideEffects();
    });

    it('answers within its budget when Slack hangs (the decision is already recorded)', async () => {
      // Prepare
      fetchMock.mockImplementation(() => new Promise<Response>(() => {}));
      const body = click();
      const started = Date.now();
      // Act
      const res = await handler({ followUpBudgetMs: 50 })(event(body, signed(body)));
      // Assess
      expect(res.statusCode).toBe(200);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(sfnMock).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    });

    it('answers 500 and touches nothing when the signing secret cannot be read', async () => {
      // Prepare
      secretReads.mockRejectedValueOnce(new Error('AccessDeniedException'));
      const body = click();
      // Act
      const res = await handler()(event(body, signed(body)));
      // Assess
      expect(res.statusCode).toBe(500);
      expect(res.body).not.toContain('AccessDenied');
      expectNoSideEffects();
    });

    it('answers 500 with a generic message when the store fails', async () => {
      // Prepare
      ddbMock.on(GetCommand).rejects(new Error('connection reset'));
      const body = click();
      // Act
      const res = await handler()(event(body, signed(body)));
      // Assess
      expect(res.statusCode).toBe(500);
      expect(res.body).not.toContain('connection reset');
      expect(sfnMock.calls()).toHaveLength(0);
    });
  });
});
