import type { Status } from '../lifecycle.ts';
import type { AccessRequest, AuditEvent } from '../model.ts';
import type { PolicyConfig } from '../policy/config.ts';
import { slackUserOf } from '../policy/slack-config.ts';
import { requiredApprovals, ruleOf } from '../requests/requests.ts';
import { ACTION_IDS } from './payload.ts';
import type { SlackBlock, SlackMessage } from './ports.ts';

/** Block id of the Approve/Deny buttons. */
export const DECISION_BLOCK_ID = 'jit_decision';

// Block Kit limits: section text 3000, a field 2000, header 150, 50 blocks per message.
const SECTION_MAX = 2900;
const FIELD_MAX = 1900;
/** Past this the card stops listing (a wall of pairs helps no approver) and points at the API. */
const MAX_PERMISSION_SECTIONS = 4;

/** What the card shows beyond the request itself. */
export interface CardContext {
  readonly request: AccessRequest;
  readonly config: PolicyConfig;
  /** The approval deadline stated on the card. */
  readonly windowEndsAt?: string;
  /** The event that produced the current status: who decided, why it was revoked. */
  readonly lastEvent?: Pick<AuditEvent, 'to' | 'actor' | 'at' | 'details'>;
}

/** mrkdwn control characters; escaping them also defuses `<!channel>` and link injection from a reason. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function code(text: string): string {
  return `\`${escapeMrkdwn(text.replace(/`/g, "'"))}\``;
}

/** Slack renders `<!date^…>` in the reader's own time zone; the ISO text is the fallback. */
function date(iso: string): string {
  const epoch = Math.floor(Date.parse(iso) / 1000);
  return `<!date^${epoch}^{date_short_pretty} {time_secs}|${iso}>`;
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const parts = [h ? `${h} h` : '', m ? `${m} min` : '', s ? `${s} s` : ''].filter(Boolean);
  return parts.join(' ') || '0 s';
}

function who(config: PolicyConfig, principal: string): string {
  const user = slackUserOf(config.slack, principal);
  if (user && principal.startsWith('slack:')) return `<@${user}>`;
  return user ? `<@${user}> ${code(principal)}` : code(principal);
}

function field(label: string, value: string): SlackBlock {
  return { type: 'mrkdwn', text: clip(`*${label}*\n${value}`, FIELD_MAX) };
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text, SECTION_MAX) } };
}

/** One line per action × resource of every permission block, packed into as few sections as fit. */
function permissionSections(request: AccessRequest): SlackBlock[] {
  const lines = request.permissions.flatMap((p) =>
    p.actions.flatMap((a) => p.resources.map((r) => `• ${code(a)} on ${code(r)}`)),
  );
  const sections: string[] = [`*Permissions* (${lines.length} action × resource)`];
  let shown = 0;
  for (const line of lines) {
    const last = sections.length - 1;
    if ((sections[last] ?? '').length + line.length + 1 <= SECTION_MAX) sections[last] += `\n${line}`;
    else if (sections.length < MAX_PERMISSION_SECTIONS) sections.push(line);
    else break;
    shown++;
  }
  if (shown < lines.length) {
    sections.push(
      `…and ${lines.length - shown} more: see \`GET /requests/${request.id}\` for the full list.`,
    );
  }
  return sections.map(section);
}

const HEADLINE: Readonly<Record<Status, string>> = {
  REQUESTED: 'Access request',
  PENDING_APPROVAL: 'Access request: approval needed',
  APPROVED: 'Access request: approved',
  DENIED: 'Access request: denied',
  APPROVAL_EXPIRED: 'Access request: expired',
  CANCELLED: 'Access request: cancelled',
  REJECTED: 'Access request: rejected',
  GRANTED: 'Access granted',
  GRANT_FAILED: 'Access request: grant failed',
  REVOKED: 'Access revoked',
  REVOKE_FAILED: 'Access: revoke failed',
};

function outcome(ctx: CardContext): string {
  const { request, config } = ctx;
  const event = ctx.lastEvent?.to === request.status ? ctx.lastEvent : undefined;
  const approvers = request.approvals.map((a) => who(config, a.approver)).join(', ');
  const byApprovers = approvers ? ` by ${approvers}` : '';
  const reason = typeof event?.details?.reason === 'string' ? event.details.reason : '';
  const because = reason ? `: ${escapeMrkdwn(clip(reason, 500))}` : '';
  const byHuman = event && !event.actor.startsWith('system:') ? ` by ${who(config, event.actor)}` : '';
  switch (request.status) {
    case 'APPROVED':
      return `:white_check_mark: *Approved*${byApprovers}. Granting access…`;
    case 'DENIED':
      return `:no_entry: *Denied*${byHuman}${because}`;
    case 'APPROVAL_EXPIRED':
      return ':hourglass: *Expired*: nobody decided within the approval window. Nothing was granted.';
    case 'CANCELLED':
      return ':leftwards_arrow_with_hook: *Cancelled* by the requester. Nothing was granted.';
    case 'REJECTED':
      return ':no_entry_sign: *Rejected*: the request no longer matches the policy.';
    case 'GRANTED':
      return `:unlock: *Granted*${byApprovers ? `, approved${byApprovers}` : ''}. Ends ${request.expiresAt ? date(request.expiresAt) : 'at its expiry'}.`;
    case 'GRANT_FAILED':
      return ':warning: *Grant failed*; whatever was written has been removed.';
    case 'REVOKED':
      return `:lock: *Revoked*${event ? ` ${date(event.at)}` : ''}${byHuman}${because}`;
    case 'REVOKE_FAILED':
      return `:warning: *Revoke failed*; the IAM expiry condition still ends the grant${request.expiresAt ? ` ${date(request.expiresAt)}` : ''} and the sweeper removes it.`;
    default:
      return '';
  }
}

function decisionButtons(request: AccessRequest): SlackBlock {
  return {
    type: 'actions',
    block_id: DECISION_BLOCK_ID,
    elements: [
      {
        type: 'button',
        action_id: ACTION_IDS.approve,
        text: { type: 'plain_text', text: 'Approve' },
        style: 'primary',
        value: request.id,
      },
      {
        type: 'button',
        action_id: ACTION_IDS.deny,
        text: { type: 'plain_text', text: 'Deny' },
        style: 'danger',
        value: request.id,
        confirm: {
          title: { type: 'plain_text', text: 'Deny this request?' },
          text: {
            type: 'mrkdwn',
            text: 'The requester gets nothing and has to ask again. This cannot be undone.',
          },
          confirm: { type: 'plain_text', text: 'Deny' },
          deny: { type: 'plain_text', text: 'Keep pending' },
          style: 'danger',
        },
      },
    ],
  };
}

/**
 * The request card: who asks for what on which principal, for how long and why, every action × resource,
 * the approval deadline, and Approve / Deny (with a confirm dialog) while it is pending; afterwards the
 * outcome in place of the buttons. The buttons carry the request id only.
 */
export function buildRequestCard(ctx: CardContext): SlackMessage {
  const { request, config } = ctx;
  const rule = ruleOf(config, request);
  const required = requiredApprovals(rule);
  const pending = request.status === 'PENDING_APPROVAL' || request.status === 'REQUESTED';
  const voters = request.approvals.map((a) => who(config, a.approver)).join(', ');
  const fields: SlackBlock[] = [
    field('Requester', who(config, request.requester)),
    field('Target', `${code(request.target)} (${request.targetType})`),
    field('Duration', duration(request.durationSeconds)),
    field('Ticket', request.ticket ? code(request.ticket) : '—'),
    field('Rule', `${code(request.ruleId)} · ${request.kind}`),
    field(
      'Approvals',
      `${request.approvals.length} of ${Number.isFinite(required) ? required : '?'}${voters ? `: ${voters}` : ''}`,
    ),
  ];
  if (request.breakGlass) {
    // Break-glass: no approval step; everyone sees the incident and the reason code.
    fields.push(
      field('Break-glass', `${code(request.breakGlass.incident)} · ${code(request.reasonCode ?? 'other')}`),
    );
  }
  if (request.firstUsedAt) {
    fields.push(
      field(
        'First used',
        `${date(request.firstUsedAt)}${request.firstUsedFrom ? ` from ${code(request.firstUsedFrom)}` : ''}`,
      ),
    );
  }
  if (request.extends) {
    // An extension: approvers see which grant it prolongs and the requester's reason code.
    fields.push(field('Extends', `${code(request.extends)} · ${code(request.reasonCode ?? 'other')}`));
  }
  if (ctx.windowEndsAt) fields.push(field('Approve before', date(ctx.windowEndsAt)));
  const headline = `${request.breakGlass ? 'BREAK-GLASS · ' : request.extends ? 'Extension · ' : ''}${HEADLINE[request.status]}`;
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: headline } },
    { type: 'section', fields },
    section(`*Reason*\n>${escapeMrkdwn(clip(request.reason, 2500)).replace(/\n/g, '\n>')}`),
    ...permissionSections(request),
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Request ${code(request.id)} · asked ${date(request.createdAt)}` }],
    },
  ];
  if (pending) blocks.push(decisionButtons(request));
  else blocks.push(section(outcome(ctx)));
  const text = `${headline}: ${request.requester} on ${request.target} (${request.status})`;
  return { text: escapeMrkdwn(clip(text, 3000)), blocks };
}
