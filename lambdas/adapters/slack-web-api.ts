import type { SlackApi, SlackMessage, SlackMessageRef } from '#core/slack/ports.ts';

/** Slack answered `ok: false` (or HTTP 429/5xx); `error` is Slack's error code, e.g. `channel_not_found`. */
export class SlackApiError extends Error {
  override readonly name = 'SlackApiError';
  readonly method: string;
  readonly error: string;
  constructor(method: string, error: string) {
    super(`Slack ${method} failed: ${error}`);
    this.method = method;
    this.error = error;
  }
}

/** The only origin Slack hands out `response_url`s on. */
export const SLACK_RESPONSE_ORIGIN = 'https://hooks.slack.com';

/** Options of {@link SlackWebApi}. */
export interface SlackWebApiOptions {
  /** The bot token (`xoxb-…`), read lazily so a cold start that never calls Slack never fetches it. */
  readonly token: () => Promise<string>;
  /** @default 'https://slack.com/api' */
  readonly baseUrl?: string;
  /** Origins besides hooks.slack.com a `response_url` may point at (the local fake Slack). */
  readonly responseOrigins?: readonly string[];
  /** Per-call timeout: the Slack callback must answer within 3 s. @default 2500 */
  readonly timeoutMs?: number;
}

/**
 * The Slack Web API over global `fetch` (no SDK: two methods do not justify a dependency in the bundle).
 * `chat.postMessage` and `chat.update` with the bot token; ephemeral replies through the click's
 * `response_url`, which must be a Slack URL so a forged payload could never make us POST elsewhere.
 */
export class SlackWebApi implements SlackApi {
  readonly #opts: SlackWebApiOptions;
  readonly #base: string;

  constructor(opts: SlackWebApiOptions) {
    this.#opts = opts;
    this.#base = (opts.baseUrl ?? 'https://slack.com/api').replace(/\/+$/, '');
  }

  async postMessage(channel: string, message: SlackMessage): Promise<SlackMessageRef> {
    const out = await this.#call('chat.postMessage', { channel, text: message.text, blocks: message.blocks });
    if (typeof out.channel !== 'string' || typeof out.ts !== 'string') {
      throw new SlackApiError('chat.postMessage', 'no channel/ts in the answer');
    }
    return { channel: out.channel, ts: out.ts };
  }

  async updateMessage(ref: SlackMessageRef, message: SlackMessage): Promise<void> {
    await this.#call('chat.update', {
      channel: ref.channel,
      ts: ref.ts,
      text: message.text,
      blocks: message.blocks,
    });
  }

  async respond(responseUrl: string, text: string): Promise<void> {
    const origin = new URL(responseUrl).origin;
    if (origin !== SLACK_RESPONSE_ORIGIN && !(this.#opts.responseOrigins ?? []).includes(origin)) {
      throw new SlackApiError('response_url', `refusing to post to ${origin}`);
    }
    const res = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
      signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 2500),
    });
    await res.arrayBuffer();
    if (!res.ok) throw new SlackApiError('response_url', `HTTP ${res.status}`);
  }

  async #call(method: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const token = await this.#opts.token();
    const res = await fetch(`${this.#base}/${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 2500),
    });
    if (!res.ok) {
      await res.arrayBuffer();
      throw new SlackApiError(method, res.status === 429 ? 'ratelimited' : `HTTP ${res.status}`);
    }
    const out = (await res.json()) as Record<string, unknown>;
    if (out.ok !== true) throw new SlackApiError(method, String(out.error ?? 'unknown_error'));
    return out;
  }
}
