/** Ports of the Slack approvals (the core's view of Slack and of the card record on the request item). */

/** One Block Kit block (the card builder produces them; nothing else inspects their shape). */
export type SlackBlock = Readonly<Record<string, unknown>>;

/** A message: `text` is the notification and accessibility fallback of `blocks`. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

/** Where a posted message lives; what `chat.update` needs. */
export interface SlackMessageRef {
  readonly channel: string;
  readonly ts: string;
}

/** The Slack Web API calls the broker makes (bot token), plus replies through a click's `response_url`. */
export interface SlackApi {
  postMessage(channel: string, message: SlackMessage): Promise<SlackMessageRef>;
  updateMessage(ref: SlackMessageRef, message: SlackMessage): Promise<void>;
  /** An ephemeral reply only the clicker sees; the card stays as it is. */
  respond(responseUrl: string, text: string): Promise<void>;
}

/** The card record kept on the request item (`slackCard`). */
export interface SlackCardRecord {
  /** Set once the card is posted. */
  readonly ref?: SlackMessageRef;
  /** The approval deadline the card states (and the Slack callback enforces). */
  readonly windowEndsAt: string;
  /** The request version the card shows, so an older render never overwrites a newer one. */
  readonly version?: number;
}

/** What a poster writes before it posts. */
export interface SlackCardClaim {
  /** Unique per attempt: only the claimant may complete or release its claim. */
  readonly claimId: string;
  readonly claimedAt: string;
  readonly windowEndsAt: string;
  /** A claim older than this that never completed (the poster died) may be taken over. */
  readonly staleBefore: string;
}

/**
 * The card record, stored on the request item with conditional writes: a claim is taken before posting so
 * a retried or concurrent attempt does not post a second card.
 */
export interface SlackCards {
  /** Takes the right to post the card; false when a card exists or another attempt is posting. */
  claim(requestId: string, claim: SlackCardClaim): Promise<boolean>;
  /** Records the posted message (only under our own claim). */
  posted(requestId: string, claimId: string, ref: SlackMessageRef, version: number): Promise<void>;
  /** Gives the claim up after a failed post, so a later attempt may post. */
  release(requestId: string, claimId: string): Promise<void>;
  get(requestId: string): Promise<SlackCardRecord | undefined>;
  /** Records that the card is about to show `version`; false when it already shows that or a newer one. */
  advance(requestId: string, version: number): Promise<boolean>;
}

/** Where the Slack code reports failures it swallows (Slack is a convenience, never a reason to fail). */
export type SlackErrorSink = (message: string, error: unknown, fields?: Record<string, unknown>) => void;
