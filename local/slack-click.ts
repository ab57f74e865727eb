import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DECISION_BLOCK_ID } from '#core/slack/card.ts';
import { ACTION_IDS } from '#core/slack/payload.ts';
import { slackSignature } from '#core/slack/signature.ts';
import { envPort, envSlackSigningSecret } from './config.ts';
import { LOCAL_SLACK_SIGNING_SECRET } from './fakes/slack.ts';

/** What to click, and as whom. */
export interface SlackClickOptions {
  /** The local broker, e.g. `http://127.0.0.1:8787`. */
  readonly brokerUrl: string;
  readonly requestId: string;
  /** The Slack user id clicking (mapped to an identity by the config's `slack.users`). */
  readonly slackUserId: string;
  /** @default 'approve' */
  readonly action?: 'approve' | 'deny';
  /** @default $JIT_SLACK_SIGNING_SECRET, else the local runtime's default */
  readonly signingSecret?: string;
  /** Unix seconds to sign with. @default now */
  readonly timestamp?: number;
}

/** What came back: the HTTP answer and the ephemeral replies the broker sent to this click. */
export interface SlackClickResult {
  readonly status: number;
  readonly body: string;
  readonly responseUrl: string | undefined;
  readonly replies: readonly string[];
}

/** The form body Slack posts for a click on a card button (`payload` = block_actions JSON). */
export function clickBody(input: {
  requestId: string;
  slackUserId: string;
  action: 'approve' | 'deny';
  responseUrl?: string;
  channel?: string;
  messageTs?: string;
}): string {
  const now = (Date.now() / 1000).toFixed(6);
  const payload = {
    type: 'block_actions',
    team: { id: 'T0LOCAL', domain: 'local' },
    user: { id: input.slackUserId, username: input.slackUserId, team_id: 'T0LOCAL' },
    api_app_id: 'A0LOCAL',
    container: {
      type: 'message',
      ...(input.channel ? { channel_id: input.channel } : {}),
      ...(input.messageTs ? { message_ts: input.messageTs } : {}),
      is_ephemeral: false,
    },
    trigger_id: `${Date.now()}.local`,
    ...(input.channel ? { channel: { id: input.channel } } : {}),
    ...(input.responseUrl ? { response_url: input.responseUrl } : {}),
    actions: [
      {
        type: 'button',
        action_id: input.action === 'approve' ? ACTION_IDS.approve : ACTION_IDS.deny,
        block_id: DECISION_BLOCK_ID,
        text: { type: 'plain_text', text: input.action === 'approve' ? 'Approve' : 'Deny' },
        value: input.requestId,
        action_ts: now,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** The two headers Slack signs a request with. */
export function signedHeaders(
  signingSecret: string,
  body: string,
  timestamp: number,
): Record<string, string> {
  const ts = String(timestamp);
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': ts,
    'x-slack-signature': slackSignature(signingSecret, ts, body),
  };
}

interface LocalSlackInfo {
  readonly enabled: boolean;
  readonly url?: string;
  readonly messages?: { channel: string; ts: string; history: { blocks: unknown[] }[] }[];
  readonly responses?: { id: string; body: { text?: string } }[];
}

/**
 * Sends a click to a local broker exactly as Slack would: the card's channel and ts, a `response_url` on the
 * local fake Slack, the `payload` form body, signed with the signing secret and a current timestamp.
 */
export async function sendSlackClick(opts: SlackClickOptions): Promise<SlackClickResult> {
  const base = opts.brokerUrl.replace(/\/+$/, '');
  const info = (await (await fetch(`${base}/_local/slack`)).json()) as LocalSlackInfo;
  if (!info.enabled || !info.url)
    throw new Error(`${base} runs without Slack (no slack section in its config)`);
  const card = info.messages?.find((m) =>
    JSON.stringify(m.history[0]?.blocks ?? []).includes(opts.requestId),
  );
  const responseId = randomUUID();
  const responseUrl = `${info.url}/response/${responseId}`;
  const body = clickBody({
    requestId: opts.requestId,
    slackUserId: opts.slackUserId,
    action: opts.action ?? 'approve',
    responseUrl,
    ...(card ? { channel: card.channel, messageTs: card.ts } : {}),
  });
  const secret = opts.signingSecret ?? envSlackSigningSecret() ?? LOCAL_SLACK_SIGNING_SECRET;
  const res = await fetch(`${base}/slack/interactions`, {
    method: 'POST',
    headers: signedHeaders(secret, body, opts.timestamp ?? Math.floor(Date.now() / 1000)),
    body,
  });
  const text = await res.text();
  const after = (await (await fetch(`${base}/_local/slack`)).json()) as LocalSlackInfo;
  const replies = (after.responses ?? []).filter((r) => r.id === responseId).map((r) => r.body.text ?? '');
  return { status: res.status, body: text, responseUrl, replies };
}

const USAGE = `usage: npm run slack:click -- --request <id> --user <slack user id> [--action approve|deny]
                              [--url <broker url>] [--secret <signing secret>]

  --request  the request id (the card's button value)
  --user     the Slack user id who clicks, e.g. U0BOB (the config's slack.users maps it to an identity)
  --action   approve (default) or deny
  --url      the local broker (default: http://127.0.0.1:$PORT or 8787)
  --secret   signing secret (default: $JIT_SLACK_SIGNING_SECRET, else the local runtime's default)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      request: { type: 'string' },
      user: { type: 'string' },
      action: { type: 'string' },
      url: { type: 'string' },
      secret: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return console.log(USAGE);
  const action = values.action ?? 'approve';
  if (!values.request || !values.user || (action !== 'approve' && action !== 'deny')) {
    console.error(USAGE);
    process.exit(2);
  }
  const result = await sendSlackClick({
    brokerUrl: values.url ?? `http://127.0.0.1:${envPort() ?? 8787}`,
    requestId: values.request,
    slackUserId: values.user,
    action,
    ...(values.secret ? { signingSecret: values.secret } : {}),
  });
  console.log(`POST /slack/interactions → HTTP ${result.status}${result.body ? ` ${result.body}` : ''}`);
  for (const reply of result.replies) console.log(`ephemeral to ${values.user}: ${reply}`);
  if (result.status !== 200) process.exit(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(`error: ${(error as Error).message}`);
    process.exit(1);
  });
}
