// local/fakes/: stand-ins for AWS and Slack services (IAM, STS, KMS, Slack) behind the core's ports.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readRawBody } from '../http-server.ts';

/** The bot token the local runtime and its fake Slack agree on (a fake; Slack never issued it). */
export const LOCAL_SLACK_BOT_TOKEN = 'xoxb-local-fake-slack';
/**
 * The signing secret the local runtime verifies clicks with unless `JIT_SLACK_SIGNING_SECRET` says
 * otherwise; `npm run slack:click` signs with the same default.
 */
export const LOCAL_SLACK_SIGNING_SECRET = 'local-slack-signing-secret';

const MAX_BODY_BYTES = 1024 * 1024;

/** A message as the fake Slack holds it, with every version it had. */
export interface FakeSlackMessage {
  readonly channel: string;
  readonly ts: string;
  text: string;
  blocks: unknown[];
  /** Every version, oldest first (the post, then each `chat.update`). */
  readonly history: { readonly text: string; readonly blocks: unknown[] }[];
}

/** What arrived on a `response_url`. */
export interface FakeSlackResponse {
  readonly id: string;
  readonly body: {
    readonly response_type?: string;
    readonly replace_original?: boolean;
    readonly text?: string;
  };
}

/** Options of {@link startFakeSlack}. */
export interface FakeSlackOptions {
  /** The bot token requests must carry. @default LOCAL_SLACK_BOT_TOKEN */
  readonly botToken?: string;
  /** @default 0 (a free port) */
  readonly port?: number;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  return (await readRawBody(req, MAX_BODY_BYTES))?.toString('utf8');
}

/** Web API arguments arrive as JSON or form fields (then `blocks` is a JSON string), as Slack accepts both. */
function parseArgs(req: IncomingMessage, body: string): Record<string, unknown> {
  if ((req.headers['content-type'] ?? '').startsWith('application/json')) {
    return JSON.parse(body || '{}') as Record<string, unknown>;
  }
  const args: Record<string, unknown> = Object.fromEntries(new URLSearchParams(body));
  if (typeof args.blocks === 'string') args.blocks = JSON.parse(args.blocks);
  return args;
}

/**
 * A fake Slack on 127.0.0.1: `chat.postMessage` and `chat.update` of the Web API (bot token checked, answers
 * shaped like Slack's), `response_url`s that record ephemeral replies, and `GET /_fake/messages` /
 * `GET /_fake/responses` to look at what the broker sent. Only what the broker calls.
 */
export class FakeSlack {
  readonly messages: FakeSlackMessage[] = [];
  readonly responses: FakeSlackResponse[] = [];
  /** Every Web API call in order, with Slack's `ok`/`error`. */
  readonly calls: { readonly method: string; readonly ok: boolean; readonly error?: string }[] = [];
  readonly #server: Server;
  readonly #token: string;
  readonly #failures = new Map<string, string[]>();
  #seq = 0;
  #url = '';

  constructor(opts: FakeSlackOptions = {}) {
    this.#token = opts.botToken ?? LOCAL_SLACK_BOT_TOKEN;
    this.#server = createServer((req, res) => {
      this.#route(req, res).catch((error: unknown) => send(res, 500, { ok: false, error: String(error) }));
    });
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return this.#url;
  }

  /** The Web API base URL (what `https://slack.com/api` is in production). */
  get apiUrl(): string {
    return `${this.#url}/api`;
  }

  /** A fresh `response_url` on this fake, as Slack puts one in every interaction payload. */
  responseUrl(): string {
    return `${this.#url}/response/${randomUUID()}`;
  }

  /** The replies that arrived on one `response_url`. */
  responsesTo(responseUrl: string): FakeSlackResponse[] {
    const id = responseUrl.slice(responseUrl.lastIndexOf('/') + 1);
    return this.responses.filter((r) => r.id === id);
  }

  /** The card of a request: the message whose buttons or context carry its id. */
  messageFor(requestId: string): FakeSlackMessage | undefined {
    return this.messages.find((m) => JSON.stringify(m.history[0]?.blocks ?? []).includes(requestId));
  }

  /** Makes the next `times` calls of `method` answer `ok: false` with `error`. */
  failNext(method: string, error = 'internal_error', times = 1): void {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), ...Array(times).fill(error)]);
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = this.#server.address();
    if (!address || typeof address !== 'object') throw new Error('fake Slack has no address');
    this.#url = `http://127.0.0.1:${address.port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/_fake/messages') return send(res, 200, this.messages);
    if (req.method === 'GET' && url.pathname === '/_fake/responses') return send(res, 200, this.responses);
    if (req.method !== 'POST') return send(res, 405, { ok: false, error: 'method_not_allowed' });
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { ok: false, error: 'request_too_large' });
    if (url.pathname.startsWith('/response/')) {
      const id = url.pathname.slice('/response/'.length);
      this.responses.push({ id, body: JSON.parse(body || '{}') as FakeSlackResponse['body'] });
      return send(res, 200, { ok: true });
    }
    if (!url.pathname.startsWith('/api/')) return send(res, 404, { ok: false, error: 'not_found' });
    const method = url.pathname.slice('/api/'.length);
    const answer = (out: { ok: boolean; error?: string } & Record<string, unknown>) => {
      this.calls.push({ method, ok: out.ok, ...(out.error ? { error: out.error } : {}) });
      send(res, 200, out);
    };
    if (req.headers.authorization !== `Bearer ${this.#token}`)
      return answer({ ok: false, error: 'invalid_auth' });
    const failure = this.#failures.get(method)?.shift();
    if (failure) return answer({ ok: false, error: failure });
    const args = parseArgs(req, body);
    const text = typeof args.text === 'string' ? args.text : '';
    const blocks = Array.isArray(args.blocks) ? (args.blocks as unknown[]) : [];
    switch (method) {
      case 'chat.postMessage': {
        if (typeof args.channel !== 'string' || !args.channel)
          return answer({ ok: false, error: 'channel_not_found' });
        const ts = `${Math.floor(Date.now() / 1000)}.${String(++this.#seq).padStart(6, '0')}`;
        this.messages.push({ channel: args.channel, ts, text, blocks, history: [{ text, blocks }] });
        return answer({ ok: true, channel: args.channel, ts, message: { text, blocks } });
      }
      case 'chat.update': {
        const message = this.messages.find((m) => m.channel === args.channel && m.ts === args.ts);
        if (!message) return answer({ ok: false, error: 'message_not_found' });
        message.text = text;
        message.blocks = blocks;
        message.history.push({ text, blocks });
        return answer({ ok: true, channel: message.channel, ts: message.ts, text });
      }
      default:
        return answer({ ok: false, error: 'unknown_method' });
    }
  }
}

/** Starts a fake Slack on 127.0.0.1 (a free port unless one is given). */
export function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  return new FakeSlack(opts).start(opts.port ?? 0);
}
