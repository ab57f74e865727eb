import type { PolicyConfig } from '#core/policy/config.ts';
import type { Approvals, AuditStore, Deps } from '#core/ports.ts';
import { SlackApprovals, type SlackCardDeps, SlackCardSync, withCardSync } from '#core/slack/approvals.ts';
import type { SlackApi, SlackCards, SlackErrorSink } from '#core/slack/ports.ts';
import type { SlackHandlerOptions } from '../slack/handler.ts';
import { systemClock } from './compose.ts';

/** What {@link wireSlack} needs: where Slack is (a real or fake Web API) and where card refs are kept. */
export interface SlackWiringParts {
  /** The validated policy config (its `slack` section). */
  readonly config: PolicyConfig;
  /** The Slack Web API client: the bot token from Secrets Manager in Lambda, the fake Slack locally. */
  readonly api: SlackApi;
  /** The card record of each request (on the audit table). */
  readonly cards: SlackCards;
  /** Where Slack failures go: Slack never fails a decision or a step. */
  readonly onError: SlackErrorSink;
}

/** What the broker's Slack wiring adds to a function's deps (see `composeDeps`). */
export interface SlackWiring {
  /** The Approvals port: posts the request card when a request starts waiting for approval. */
  readonly approvals: Approvals;
  /** Keeps the card current after every status change written through the returned store. */
  wrapStore<T extends AuditStore>(store: T): T;
}

function cardDepsOf(parts: SlackWiringParts): SlackCardDeps {
  return {
    config: parts.config,
    clock: systemClock,
    api: parts.api,
    cards: parts.cards,
    onError: parts.onError,
  };
}

/**
 * The Slack wiring of the workflow and API functions, the same in Lambda and in the local runtime: request
 * cards posted through one Slack Web API client, and a store wrapper that refreshes them.
 */
export function wireSlack(parts: SlackWiringParts): SlackWiring {
  const cardDeps = cardDepsOf(parts);
  return {
    approvals: new SlackApprovals(cardDeps),
    wrapStore: (store) => withCardSync(store, new SlackCardSync(cardDeps, store)),
  };
}

/**
 * Options of the `POST /slack/interactions` handler on the same parts. `deps.store` should be the
 * undecorated store: the handler refreshes the card itself, after the task token is answered. (A function
 * of its own so the Slack callback's bundle leaves out the card posting it never does.)
 */
export function wireSlackCallback(
  parts: SlackWiringParts,
  deps: Deps,
  signingSecret: () => Promise<string>,
): SlackHandlerOptions {
  return { ...cardDepsOf(parts), deps, signingSecret };
}
