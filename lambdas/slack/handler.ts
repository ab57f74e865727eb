import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { BrokerError } from '#core/errors.ts';
import type { Deps } from '#core/ports.ts';
import { type SlackCardDeps, SlackCardSync } from '#core/slack/approvals.ts';
import type { CardContext } from '#core/slack/card.ts';
import { clickReply, decideFromSlack } from '#core/slack/decision.ts';
import { parseInteraction, type SlackClick } from '#core/slack/payload.ts';
import type { SlackCardRecord } from '#core/slack/ports.ts';
import { verifySlackSignature } from '#core/slack/signature.ts';
import { errorBody, json } from '../api/http.ts';
import { log } from '../runtime/logger.ts';

/** What the Slack callback needs besides the core deps. */
export interface SlackHandlerOptions extends SlackCardDeps {
  readonly deps: Deps;
  /** The signing secret (cached after the first read). */
  readonly signingSecret: () => Promise<string>;
  /**
   * How long card updates and the ephemeral reply may hold the answer back. Slack wants the 200 within
   * 3 s of sending, cold start included. @default 1500
   */
  readonly followUpBudgetMs?: number;
}

const ACK: APIGatewayProxyResult = { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: '' };

/** Header lookup the way HTTP means it: case-insensitive, first value. */
function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value) return value;
  }
  for (const [key, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === name && values?.[0]) return values[0];
  }
  return undefined;
}

/** The body bytes exactly as Slack signed them (API Gateway may hand them over base64-encoded). */
function rawBody(event: APIGatewayProxyEvent): Buffer {
  if (!event.body) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

function within(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    work.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * `POST /slack/interactions`. Order matters: headers and signature are checked against the raw body before
 * anything is parsed, read or written, so a forged or replayed-after-5-minutes request costs one HMAC and
 * gets 401. A verified click is decided by the core (same rules as the API); the card is refreshed and the
 * clicker told why when nothing changed, within a budget that keeps the 200 inside Slack's 3 seconds.
 */
export function createSlackHandler(opts: SlackHandlerOptions) {
  const { deps } = opts;
  const sync = new SlackCardSync(opts, deps.store);

  async function followUp(
    click: SlackClick,
    reply: string | undefined,
    decided: CardContext['lastEvent'] | undefined,
    card: SlackCardRecord | undefined,
  ): Promise<void> {
    const work: Promise<void>[] = [];
    if (decided) work.push(sync.refresh(click.requestId, decided, card));
    if (reply && click.responseUrl) {
      work.push(
        opts.api.respond(click.responseUrl, reply).catch((error: unknown) => {
          opts.onError('slack ephemeral reply failed', error, { requestId: click.requestId });
        }),
      );
    }
    await within(Promise.all(work), opts.followUpBudgetMs ?? 1500);
  }

  return async function slackHandler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const signature = header(event, 'x-slack-signature');
    const timestamp = header(event, 'x-slack-request-timestamp');
    if (!signature || !timestamp) {
      return json(401, errorBody('Unauthenticated', 'missing Slack signature headers'));
    }
    const body = rawBody(event);
    let signingSecret: string;
    try {
      signingSecret = await opts.signingSecret();
    } catch (error) {
      log.error('slack signing secret unavailable', error);
      return json(500, errorBody('InternalError', 'internal error; see the broker logs'));
    }
    const check = verifySlackSignature({
      signingSecret,
      timestamp,
      signature,
      body,
      now: deps.clock.now(),
    });
    if (!check.ok) {
      log.info('slack request refused', { problem: check.problem });
      return json(401, errorBody('Unauthenticated', 'bad or stale Slack signature'));
    }
    try {
      const interaction = parseInteraction(body.toString('utf8'));
      if (interaction.kind === 'ignored') return ACK;
      const card = await opts.cards.get(interaction.requestId);
      const outcome = await decideFromSlack(deps, interaction, card?.windowEndsAt);
      log.info('slack click', {
        requestId: interaction.requestId,
        decision: interaction.decision,
        actor: outcome.actor,
        ...(outcome.ok ? { status: outcome.result.status } : { refusal: outcome.refusal }),
      });
      // A refused click changed nothing, so the card stays as it is.
      const decided = outcome.ok
        ? { to: outcome.result.status, actor: outcome.actor, at: deps.clock.now().toISOString() }
        : undefined;
      await followUp(interaction, clickReply(outcome), decided, card);
      return ACK;
    } catch (error) {
      if (error instanceof BrokerError && error.code === 'InvalidRequest') {
        return json(400, errorBody(error.code, error.message));
      }
      log.error('slack callback failed', error);
      return json(500, errorBody('InternalError', 'internal error; see the broker logs'));
    }
  };
}
