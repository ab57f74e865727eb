import type { JitClient } from './client.ts';
import { formatDuration } from './duration.ts';
import { EXIT, exitCodeForStatus } from './errors.ts';
import { type Colours, type Output, table } from './output.ts';
import type { EligibleRule, PublicRequest, RequestDocument, RulesAnswer } from './types.ts';

/** The last part of an ARN (`assumed-role/Approver/bob` → `bob`), enough to tell people apart on a line. */
export function shortName(arn: string): string {
  return arn.split(/[/:]/).pop() || arn;
}

/** A status in its colour: green active, red refused or failed, yellow waiting, dim ended. */
export function paintStatus(status: string, c: Colours): string {
  const code = exitCodeForStatus(status);
  if (status === 'GRANTED') return c.green(status);
  if (code === EXIT.DENIED || status === 'GRANT_FAILED' || status === 'REVOKE_FAILED') return c.red(status);
  if (code === undefined) return c.yellow(status);
  return c.dim(status);
}

/** `12m left` until an ISO time, or `ended`. */
export function timeLeft(iso: string, now = Date.now()): string {
  const left = (Date.parse(iso) - now) / 1000;
  return left > 0 ? `${formatDuration(left)} left` : 'ended';
}

/** A request and its events as `jit status` prints them. */
export function describeRequest(doc: RequestDocument, c: Colours): string {
  const head = [c.bold(doc.id), paintStatus(doc.status, c)];
  if (doc.status === 'GRANTED' && doc.expiresAt)
    head.push(`until ${doc.expiresAt} (${timeLeft(doc.expiresAt)})`);
  const access = doc.permissions.flatMap((p) => p.actions.map((a) => [a, p.resources.join(' ')]));
  const rows: string[][] = [
    ['requester', doc.requester],
    ['target', `${doc.target} (${doc.targetType}, ${doc.kind} grant, rule ${doc.ruleId})`],
    ...access.map(([a, r], i) => [i === 0 ? 'access' : '', `${a} on ${r}`]),
    ['duration', formatDuration(doc.durationSeconds)],
    ['reason', doc.reason],
    ...(doc.ticket ? [['ticket', doc.ticket]] : []),
    ...(doc.approvals.length
      ? doc.approvals.map((v, i) => [
          i === 0 ? 'approvals' : '',
          `${shortName(v.approver)} at ${v.at}${v.comment ? `: ${v.comment}` : ''}`,
        ])
      : []),
    ['created', doc.createdAt],
  ];
  const lines = [
    head.join('  '),
    ...table(rows)
      .split('\n')
      .map((l) => `  ${l}`),
  ];
  if (doc.events?.length) {
    const integrity = doc.integrity?.ok
      ? c.green('hash chain intact')
      : doc.integrity
        ? c.red(`hash chain BROKEN at event ${doc.integrity.seq}: ${doc.integrity.reason}`)
        : '';
    lines.push(`events${integrity ? ` (${integrity})` : ''}`);
    const events = doc.events.map((e) => {
      const why = e.details?.reason ?? e.details?.comment;
      return [e.at, e.to, `by ${e.actor}${typeof why === 'string' ? `: ${why}` : ''}`];
    });
    lines.push(
      ...table(events)
        .split('\n')
        .map((l) => `  ${l}`),
    );
  }
  return lines.join('\n');
}

/** Requests as a table: id, status, created, rule, target. */
export function requestTable(requests: readonly PublicRequest[], c: Colours): string {
  if (requests.length === 0) return c.dim('(none)');
  const rows = requests.map((r) => [r.id, r.status, r.createdAt, r.ruleId, shortName(r.requester), r.target]);
  const text = table(rows, ['ID', 'STATUS', 'CREATED', 'RULE', 'BY', 'TARGET']);
  // Colour after padding, so escape codes do not upset the columns.
  return text
    .split('\n')
    .map((line, i) => {
      const status = i === 0 ? undefined : requests[i - 1]?.status;
      return status ? line.replace(` ${status} `, ` ${paintStatus(status, c)} `) : c.bold(line);
    })
    .join('\n');
}

/** How a rule is approved: `auto`, or `2 of Approver/*`. */
export function approvalText(rule: Pick<EligibleRule, 'approval'>): string {
  if (rule.approval === 'auto') return 'auto';
  return `${rule.approval.minApprovals} of ${rule.approval.approvers.map(shortPattern).join(', ')}`;
}

function shortPattern(pattern: string): string {
  const parts = pattern.split(':');
  return parts.length >= 6 ? parts.slice(5).join(':') : pattern;
}

/** Rules as `jit rules` prints them, one block per rule. */
export function describeRules(rules: readonly EligibleRule[], c: Colours): string {
  if (rules.length === 0) return c.dim('(no rules let you request access)');
  return rules
    .map((r) => {
      const rows = [
        ['kind', r.kind],
        ['approval', approvalText(r)],
        ['max', formatDuration(r.maxDurationSeconds)],
        ...r.targets.map((t, i) => [i === 0 ? 'targets' : '', t]),
        ...r.actions.map((a, i) => [i === 0 ? 'actions' : '', a]),
        ...r.resources.map((x, i) => [i === 0 ? 'resources' : '', x]),
      ];
      const title = `${c.bold(r.id)}${r.description ? `  ${r.description}` : ''}`;
      return [
        title,
        ...table(rows)
          .split('\n')
          .map((l) => `  ${l}`),
      ].join('\n');
    })
    .join('\n\n');
}

/** The approvals a rule needs (0 for auto), from `GET /rules`; undefined when the caller cannot see it. */
export async function approvalsNeeded(client: JitClient, ruleId: string): Promise<number | undefined> {
  try {
    const { rules } = await client.call<RulesAnswer>('GET /rules');
    const rule = rules.find((r) => r.id === ruleId);
    if (!rule) return undefined;
    return rule.approval === 'auto' ? 0 : rule.approval.minApprovals;
  } catch {
    return undefined;
  }
}

/**
 * Reports where a wait ended: the request on stdout (JSON with `--json`), a line on stderr saying why when
 * it did not end in access, and the exit code its status means.
 */
export function reportSettled(out: Output, doc: RequestDocument): void {
  const code = exitCodeForStatus(doc.status) ?? EXIT.OK;
  out.result(doc, () => {
    if (doc.status === 'GRANTED') {
      return `${doc.id}  ${paintStatus(doc.status, out.c)}${doc.expiresAt ? `  until ${doc.expiresAt} (${timeLeft(doc.expiresAt)})` : ''}`;
    }
    return `${doc.id}  ${paintStatus(doc.status, out.c)}`;
  });
  if (code !== EXIT.OK) {
    const last = doc.events?.at(-1);
    const why = last?.details?.reason ?? last?.details?.error;
    out.error(
      `request ${doc.id} ended ${doc.status}${last ? ` (by ${last.actor})` : ''}${typeof why === 'string' ? `: ${why}` : ''}`,
    );
  }
  process.exitCode = code;
}
