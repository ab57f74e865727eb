import { randomUUID } from 'node:crypto';
import type { AccessRequest } from '../model.ts';
import type { PolicyConfig } from '../policy/config.ts';
import { approvalWindowEndsAt, channelFor } from '../policy/slack-config.ts';
import type { Approvals, AuditStore, Clock, TransitionWrite } from '../ports.ts';
import { buildRequestCard, type CardContext } from './card.ts';
import type { SlackApi, SlackCardRecord, SlackCards, SlackErrorSink } from './ports.ts';

/** What the Slack card code needs. */
export interface SlackCardDeps {
  readonly config: PolicyConfig;
  readonly clock: Clock;
  readonly api: SlackApi;
  readonly cards: SlackCards;
  readonly onError: SlackErrorSink;
  /** How long an unfinished claim (its poster died mid-post) blocks other posters. @default 120 */
  readonly claimLeaseSeconds?: number;
}

/**
 * The Approvals port on Slack: posts the request card to the rule's channel when a request starts waiting
 * for approval. At most one card per request: a conditional claim on the request item comes first, so a
 * retried or concurrent invoke finds the claim and posts nothing. Never throws: the API still takes
 * decisions when Slack is down, and a failed post must not fail the approval step.
 */
export class SlackApprovals implements Approvals {
  readonly #deps: SlackCardDeps;

  constructor(deps: SlackCardDeps) {
    this.#deps = deps;
  }

  async requestPending(request: AccessRequest): Promise<void> {
    await this.#post(request, channelFor(this.#deps.config.slack, request.ruleId));
  }

  /** Break-glass: the card goes to the security channel once granted, and is refreshed like any card. */
  async announce(request: AccessRequest): Promise<void> {
    await this.#post(request, this.#deps.config.slack?.securityChannel);
  }

  /** Posts the request's card once (a claim on the card record keeps concurrent posts to one). */
  async #post(request: AccessRequest, channel: string | undefined): Promise<void> {
    const d = this.#deps;
    if (!channel) return;
    const now = d.clock.now();
    const claimId = randomUUID();
    const windowEndsAt = approvalWindowEndsAt(request.updatedAt, d.config.approvalWindowSeconds);
    try {
      const claimed = await d.cards.claim(request.id, {
        claimId,
        claimedAt: now.toISOString(),
        windowEndsAt,
        staleBefore: new Date(now.getTime() - (d.claimLeaseSeconds ?? 120) * 1000).toISOString(),
      });
      if (!claimed) return;
    } catch (error) {
      d.onError('slack card claim failed', error, { requestId: request.id });
      return;
    }
    let ref: Awaited<ReturnType<SlackApi['postMessage']>>;
    try {
      ref = await d.api.postMessage(channel, buildRequestCard({ request, config: d.config, windowEndsAt }));
    } catch (error) {
      d.onError('slack card post failed', error, { requestId: request.id, channel });
      await d.cards.release(request.id, claimId).catch((e: unknown) => {
        d.onError('slack card claim release failed', e, { requestId: request.id });
      });
      return;
    }
    await d.cards.posted(request.id, claimId, ref, request.version).catch((e: unknown) => {
      d.onError('slack card ref not stored', e, { requestId: request.id, ...ref });
    });
  }
}

/**
 * Brings a posted card up to date with its request. Renders from a fresh read and records the version it
 * shows first, so a slower update of an older state never overwrites a newer one. Never throws.
 */
export class SlackCardSync {
  readonly #deps: SlackCardDeps;
  readonly #store: Pick<AuditStore, 'get'>;

  /** `store` reads requests: the undecorated store, so a refresh never triggers another refresh. */
  constructor(deps: SlackCardDeps, store: Pick<AuditStore, 'get'>) {
    this.#deps = deps;
    this.#store = store;
  }

  /** `known`: the card record when the caller has just read it (saves a read on the Slack ack path). */
  async refresh(
    requestId: string,
    lastEvent?: CardContext['lastEvent'],
    known?: SlackCardRecord,
  ): Promise<void> {
    const d = this.#deps;
    try {
      const record = known?.ref ? known : await d.cards.get(requestId);
      if (!record?.ref) return;
      const request = await this.#store.get(requestId);
      if (!request) return;
      if (!(await d.cards.advance(requestId, request.version))) return;
      const card = buildRequestCard({
        request,
        config: d.config,
        windowEndsAt: record.windowEndsAt,
        ...(lastEvent ? { lastEvent } : {}),
      });
      await d.api.updateMessage(record.ref, card);
    } catch (error) {
      d.onError('slack card update failed', error, { requestId });
    }
  }
}

/**
 * Wraps an AuditStore so the request's Slack card is refreshed after every status change it writes,
 * whichever Lambda writes it (votes and decisions on the API, expiry, grant, revoke). The write is done and
 * durable before Slack is called; a Slack failure is logged, never returned. Every other store method is
 * passed through untouched (a Proxy, so methods added to the port later need no change here).
 */
export function withCardSync<T extends AuditStore>(inner: T, sync: SlackCardSync): T {
  const transition = async (id: string, write: TransitionWrite): Promise<void> => {
    await inner.transition(id, write);
    await sync.refresh(id, write.event);
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'transition') return transition;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
