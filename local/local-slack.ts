import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DynamoSlackCards } from '#adapters/dynamo-slack-cards.ts';
import { SlackWebApi } from '#adapters/slack-web-api.ts';
import type { PolicyConfig } from '#core/policy/config.ts';
import type { Approvals, AuditStore, Deps } from '#core/ports.ts';
import { type SlackWiringParts, wireSlack, wireSlackCallback } from '#lambdas/runtime/slack-wiring.ts';
import { createSlackHandler } from '#lambdas/slack/handler.ts';
import { envSlackSigningSecret } from './config.ts';
import {
  type FakeSlack,
  LOCAL_SLACK_BOT_TOKEN,
  LOCAL_SLACK_SIGNING_SECRET,
  startFakeSlack,
} from './fakes/slack.ts';

/** Slack options of the local runtime. */
export interface LocalSlackOptions {
  /** @default $JIT_SLACK_SIGNING_SECRET, else LOCAL_SLACK_SIGNING_SECRET */
  readonly signingSecret?: string;
  /** Port of the fake Slack on 127.0.0.1. @default 0 (a free one) */
  readonly port?: number;
}

/** The running local Slack: the fake Web API and the broker's Slack wiring pointed at it. */
export interface LocalSlack {
  readonly fake: FakeSlack;
  /** What the callback verifies signatures with (local only; never a real Slack secret). */
  readonly signingSecret: string;
  /** The Approvals port that posts the request card. */
  readonly approvals: Approvals;
  /** The store wrapper that refreshes cards after each status change. */
  wrapStore<T extends AuditStore>(store: T): T;
  /** The `POST /slack/interactions` handler; `store` is the undecorated one (it refreshes cards itself). */
  handler(deps: Deps, store: AuditStore): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  stop(): Promise<void>;
}

/**
 * Starts the fake Slack and wires the production Slack code to it: the same card builder, card record on
 * DynamoDB Local, Web API client (over HTTP to 127.0.0.1) and callback handler as in Lambda.
 */
export async function startLocalSlack(
  opts: LocalSlackOptions & {
    readonly config: PolicyConfig;
    readonly db: DynamoDBDocumentClient;
    readonly tableName: string;
    readonly log: (line: string) => void;
  },
): Promise<LocalSlack> {
  const fake = await startFakeSlack({
    botToken: LOCAL_SLACK_BOT_TOKEN,
    ...(opts.port ? { port: opts.port } : {}),
  });
  const signingSecret = opts.signingSecret ?? envSlackSigningSecret() ?? LOCAL_SLACK_SIGNING_SECRET;
  // The same wiring as in Lambda (lambdas/runtime/lambda-slack.ts), with the fake Slack as the Web API.
  const parts: SlackWiringParts = {
    config: opts.config,
    api: new SlackWebApi({
      token: async () => LOCAL_SLACK_BOT_TOKEN,
      baseUrl: fake.apiUrl,
      responseOrigins: [fake.url],
    }),
    cards: new DynamoSlackCards(opts.db, opts.tableName),
    onError: (message, error) => opts.log(`slack: ${message}: ${(error as Error)?.message ?? String(error)}`),
  };
  const slack = wireSlack(parts);
  return {
    fake,
    signingSecret,
    approvals: slack.approvals,
    wrapStore: (store) => slack.wrapStore(store),
    handler: (deps, store) =>
      createSlackHandler(wireSlackCallback(parts, { ...deps, store }, async () => signingSecret)),
    stop: () => fake.stop(),
  };
}

/** `POST /slack/interactions` when the config has no `slack` section: there is nothing to click. */
export async function slackNotConfigured(): Promise<APIGatewayProxyResult> {
  return {
    statusCode: 404,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      error: { code: 'NotFound', message: 'Slack is not configured (no slack section)' },
    }),
  };
}

/** `GET /_local/slack`: where the fake Slack listens and what it holds. */
export function localSlackInfo(slack: LocalSlack | undefined) {
  if (!slack) return { enabled: false };
  return {
    enabled: true,
    url: slack.fake.url,
    messages: slack.fake.messages,
    responses: slack.fake.responses,
  };
}
