import { load } from '../audit/transition.ts';
import { BrokerError, NotApproverError, SelfApprovalError } from '../errors.ts';
import type { Status } from '../lifecycle.ts';
import { samePerson } from '../policy/people.ts';
import { isSlackRequester, slackIdentity } from '../policy/slack-config.ts';
import type { Deps } from '../ports.ts';
import { type DecisionResult, decide } from '../requests/requests.ts';
import type { SlackClick } from './payload.ts';

/** Why a click changed nothing. */
export type SlackRefusal =
  | 'SelfApproval'
  | 'NotApprover'
  | 'AlreadyVoted'
  | 'NotPending'
  | 'NotFound'
  | 'WindowClosed'
  | 'TimedOut';

/** What a click did. `actor` is the identity the vote was (or would have been) recorded under. */
export type SlackDecisionOutcome =
  | { readonly ok: true; readonly actor: string; readonly result: DecisionResult }
  | { readonly ok: false; readonly actor: string; readonly refusal: SlackRefusal; readonly status?: Status };

/** Recorded on a denial from Slack (the API asks for a reason; a button has none). */
export const SLACK_DENY_NOTE = 'denied in Slack';

/**
 * A click on a card, decided by the same core as the API (`decide`: approvers of the rule, distinct-approver
 * quorum, conditional write, one SendTaskSuccess) under the clicker's mapped identity. Before that, two
 * checks only Slack needs: the clicker is neither the requester's Slack user nor, by the mapped approver,
 * the requester's person (people.ts), and the card's approval deadline has not passed (a later click could
 * reach a dead task token).
 */
export async function decideFromSlack(
  deps: Deps,
  click: Pick<SlackClick, 'slackUserId' | 'requestId' | 'decision'>,
  windowEndsAt?: string,
): Promise<SlackDecisionOutcome> {
  const actor = slackIdentity(deps.config.slack, click.slackUserId);
  const refuse = (refusal: SlackRefusal, status?: Status): SlackDecisionOutcome => ({
    ok: false,
    actor,
    refusal,
    ...(status ? { status } : {}),
  });
  try {
    const request = await load(deps, click.requestId);
    // Only Slack users mapped to an IAM principal decide: an unmapped user has no identity the
    // one-person rules (self-approval, distinct quorum) can compare.
    if (!deps.config.slack?.users[click.slackUserId]?.approver) {
      throw new NotApproverError('this Slack user is not mapped to an approver principal');
    }
    // Refused before the window check: the requester's own Slack user, or a clicker whose mapped approver
    // is the requester's person (people.ts: same name, or a shared `people` entry or Slack user).
    if (
      isSlackRequester(deps.config.slack, click.slackUserId, request.requester) ||
      samePerson(deps.config, actor, request.requester)
    ) {
      throw new SelfApprovalError('the requester cannot decide on their own request');
    }
    if (
      request.status === 'PENDING_APPROVAL' &&
      windowEndsAt !== undefined &&
      deps.clock.now().getTime() >= Date.parse(windowEndsAt)
    ) {
      return refuse('WindowClosed', request.status);
    }
    const note = click.decision === 'deny' ? SLACK_DENY_NOTE : undefined;
    const result = await decide(deps, actor, click.requestId, click.decision, note);
    return { ok: true, actor, result };
  } catch (error) {
    if (!(error instanceof BrokerError)) throw error;
    switch (error.code) {
      case 'ApprovalWindowClosed':
        return refuse('TimedOut');
      case 'SelfApproval':
      case 'NotApprover':
      case 'AlreadyVoted':
      case 'NotFound':
        return refuse(error.code);
      case 'NotPending':
        return refuse('NotPending', (await deps.store.get(click.requestId))?.status);
      default:
        throw error;
    }
  }
}

const STATUS_WORDS: Partial<Record<Status, string>> = {
  APPROVED: 'approved',
  GRANTED: 'approved and granted',
  REVOKED: 'over (granted, then revoked)',
  REVOKE_FAILED: 'over (granted)',
  GRANT_FAILED: 'approved, but the grant failed',
  DENIED: 'denied',
  CANCELLED: 'cancelled by the requester',
  REJECTED: 'rejected',
  REQUESTED: 'not open for approval yet',
};

/** The ephemeral reply to the clicker, or undefined when the card itself says it all. */
export function clickReply(outcome: SlackDecisionOutcome): string | undefined {
  if (outcome.ok) {
    const { status, approvals, required } = outcome.result;
    if (status !== 'PENDING_APPROVAL') return undefined;
    const missing = required - approvals;
    return `Your approval is recorded (${approvals} of ${required}). ${missing} more from other approvers ${missing === 1 ? 'is' : 'are'} needed.`;
  }
  const nothing = 'Your click changed nothing.';
  switch (outcome.refusal) {
    case 'SelfApproval':
      return `You made this request, so someone else has to decide on it. ${nothing}`;
    case 'NotApprover':
      return outcome.actor.startsWith('slack:')
        ? `Your Slack user is not an approver of this request's rule (no approver mapping in the broker config). ${nothing}`
        : `You (${outcome.actor}) are not an approver of this request's rule. ${nothing}`;
    case 'AlreadyVoted':
      return `You have already approved this request; it needs another approver. ${nothing}`;
    case 'NotFound':
      return `The broker has no such request. ${nothing}`;
    case 'WindowClosed':
    case 'TimedOut':
      return `The approval window has closed, so nothing will be granted. ${nothing}`;
    case 'NotPending':
      if (outcome.status === 'APPROVAL_EXPIRED') {
        return `The approval window has closed, so nothing will be granted. ${nothing}`;
      }
      return `This request is already ${STATUS_WORDS[outcome.status ?? 'REQUESTED'] ?? 'decided'}. ${nothing}`;
  }
}
