import * as z from 'zod/mini';
import { InvalidRequestError } from '../errors.ts';
import { parseWith } from '../schema.ts';

/** The `action_id`s of the card's buttons. Anything else in a payload is not ours and is ignored. */
export const ACTION_IDS = { approve: 'jit_approve', deny: 'jit_deny' } as const;

/** Request ids as the API accepts them (the button value carries nothing else). */
export const REQUEST_ID_RE = /^[A-Za-z0-9-]{1,80}$/;

/** A click on Approve or Deny, as far as the broker needs it. */
export interface SlackClick {
  readonly kind: 'click';
  readonly slackUserId: string;
  readonly decision: 'approve' | 'deny';
  readonly requestId: string;
  /** Where Slack accepts replies to this click (ephemeral messages) for 30 minutes. */
  readonly responseUrl?: string;
  readonly channelId?: string;
  readonly messageTs?: string;
}

/** A verified interaction that is not a click on our buttons (another app feature, a stale card). */
export interface IgnoredInteraction {
  readonly kind: 'ignored';
  readonly reason: string;
}

// Slack sends many more fields; only these are read, the rest is dropped.
const payloadSchema = z.object({
  type: z.string(),
  user: z.object({ id: z.string().check(z.minLength(1), z.maxLength(64)) }),
  actions: z.optional(
    z.array(z.object({ action_id: z.string(), value: z.optional(z.string().check(z.maxLength(2000))) })),
  ),
  response_url: z.optional(z.url()),
  container: z.optional(z.object({ channel_id: z.optional(z.string()), message_ts: z.optional(z.string()) })),
});

function invalid(message: string, field = 'payload'): InvalidRequestError {
  return new InvalidRequestError(message, [{ field, message }]);
}

/**
 * Parses a verified `application/x-www-form-urlencoded` interaction body: its `payload` field is the JSON
 * Slack describes for `block_actions`. Only call this after the signature check.
 */
export function parseInteraction(body: string): SlackClick | IgnoredInteraction {
  const raw = new URLSearchParams(body).get('payload');
  if (raw === null) throw invalid('the body has no payload field');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw invalid('payload is not valid JSON');
  }
  const payload = parseWith(payloadSchema, json, (issues) =>
    invalid(`payload ${issues[0]?.field ?? ''} ${issues[0]?.message ?? 'is invalid'}`.trim()),
  );
  if (payload.type !== 'block_actions') return { kind: 'ignored', reason: `type ${payload.type}` };
  const action = payload.actions?.find(
    (a) => a.action_id === ACTION_IDS.approve || a.action_id === ACTION_IDS.deny,
  );
  if (!action) return { kind: 'ignored', reason: 'no broker action in the payload' };
  if (!action.value || !REQUEST_ID_RE.test(action.value)) {
    throw invalid('the button value is not a request id', 'actions[0].value');
  }
  return {
    kind: 'click',
    slackUserId: payload.user.id,
    decision: action.action_id === ACTION_IDS.approve ? 'approve' : 'deny',
    requestId: action.value,
    ...(payload.response_url ? { responseUrl: payload.response_url } : {}),
    ...(payload.container?.channel_id ? { channelId: payload.container.channel_id } : {}),
    ...(payload.container?.message_ts ? { messageTs: payload.container.message_ts } : {}),
  };
}
