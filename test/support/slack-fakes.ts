import type {
  SlackApi,
  SlackCardClaim,
  SlackCardRecord,
  SlackCards,
  SlackMessage,
  SlackMessageRef,
} from '#core/slack/ports.ts';

interface StoredCard {
  claimId: string;
  claimedAt: string;
  windowEndsAt: string;
  channel?: string;
  ts?: string;
  version?: number;
}

/** SlackCards in memory with the same conditions as the DynamoDB adapter. */
export class MemorySlackCards implements SlackCards {
  readonly records = new Map<string, StoredCard>();
  /** The request item must exist (the adapter's `attribute_exists(pk)`). */
  readonly #exists: (requestId: string) => boolean;

  constructor(exists: (requestId: string) => boolean = () => true) {
    this.#exists = exists;
  }

  async claim(requestId: string, claim: SlackCardClaim): Promise<boolean> {
    if (!this.#exists(requestId)) return false;
    const current = this.records.get(requestId);
    if (current && (current.ts !== undefined || current.claimedAt >= claim.staleBefore)) return false;
    this.records.set(requestId, {
      claimId: claim.claimId,
      claimedAt: claim.claimedAt,
      windowEndsAt: claim.windowEndsAt,
    });
    return true;
  }

  async posted(requestId: string, claimId: string, ref: SlackMessageRef, version: number): Promise<void> {
    const current = this.records.get(requestId);
    if (current?.claimId !== claimId) return;
    Object.assign(current, { channel: ref.channel, ts: ref.ts, version });
  }

  async release(requestId: string, claimId: string): Promise<void> {
    const current = this.records.get(requestId);
    if (current?.claimId === claimId && current.ts === undefined) this.records.delete(requestId);
  }

  async get(requestId: string): Promise<SlackCardRecord | undefined> {
    const c = this.records.get(requestId);
    if (!c) return undefined;
    return {
      windowEndsAt: c.windowEndsAt,
      ...(c.channel && c.ts ? { ref: { channel: c.channel, ts: c.ts } } : {}),
      ...(c.version === undefined ? {} : { version: c.version }),
    };
  }

  async advance(requestId: string, version: number): Promise<boolean> {
    const c = this.records.get(requestId);
    if (!c?.ts || (c.version !== undefined && c.version >= version)) return false;
    c.version = version;
    return true;
  }
}

/** Records every Slack call; `fail*` make the next calls throw. */
export class RecordingSlackApi implements SlackApi {
  readonly posts: { channel: string; message: SlackMessage }[] = [];
  readonly updates: { ref: SlackMessageRef; message: SlackMessage }[] = [];
  readonly replies: { url: string; text: string }[] = [];
  failPosts = 0;
  failUpdates = 0;
  /** Resolves a post only when this promise does (to hold a poster mid-post). */
  gate: Promise<void> | undefined;

  async postMessage(channel: string, message: SlackMessage): Promise<SlackMessageRef> {
    await this.gate;
    if (this.failPosts > 0) {
      this.failPosts--;
      throw new Error('slack is down');
    }
    this.posts.push({ channel, message });
    return { channel, ts: `1795341600.${String(this.posts.length).padStart(6, '0')}` };
  }

  async updateMessage(ref: SlackMessageRef, message: SlackMessage): Promise<void> {
    if (this.failUpdates > 0) {
      this.failUpdates--;
      throw new Error('slack is down');
    }
    this.updates.push({ ref, message });
  }

  async respond(url: string, text: string): Promise<void> {
    this.replies.push({ url, text });
  }
}

/** The header text of a card. */
export function headlineOf(message: SlackMessage): string {
  const header = message.blocks.find((b) => b.type === 'header') as { text?: { text?: string } } | undefined;
  return header?.text?.text ?? '';
}
