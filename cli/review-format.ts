/**
 * The audit review of one grant (`GET /requests/{id}/review`) as `jit audit <id>` prints it: a terminal
 * report, Markdown to paste into a ticket, or one self-contained HTML page with a timeline of the window.
 * Pure: a review in, text out; nothing here calls the API or writes a file.
 */
import type { ActivityReview, ReviewedCall } from '#core/audit/review-report.ts';
import { type Colours, table } from './output.ts';

export type { ActivityReview };

/** The formats `jit audit <id>` prints. */
export const REVIEW_FORMATS = ['table', 'json', 'md', 'html'] as const;
export type ReviewFormat = (typeof REVIEW_FORMATS)[number];

/** A share (0..1) as a whole percentage: `0.6` → `60%`. */
/** The used-actions table of the Markdown and HTML reports: its columns and one row's cells. */
const USED_HEADERS = ['Action', 'Resource', 'Calls', 'First', 'Last', 'Sessions', 'Source IPs'];
function usedCells(u: ActivityReview['used'][number]): string[] {
  return [
    u.action,
    u.resource,
    String(u.calls),
    u.firstAt,
    u.lastAt,
    u.sessions.join(', '),
    u.sourceIps.join(', '),
  ];
}

/** The refusals table of the Markdown and HTML reports. */
const REFUSAL_HEADERS = ['At', 'Action', 'Resource', 'Error', 'Grant', 'Source IP', 'Event'];
function refusalCells(r: ActivityReview['refused'][number]): string[] {
  return [
    r.at,
    r.action,
    r.resource,
    r.errorCode,
    r.insideGrant ? 'inside' : 'outside',
    r.sourceIp ?? '',
    r.eventId,
  ];
}

export function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** The granted actions, as written in the grant, each once. */
export function grantedActions(review: Pick<ActivityReview, 'granted'>): string[] {
  return [...new Set(review.granted.flatMap((g) => g.actions))];
}

/**
 * The allowed calls of the review: the sum of the listed action × resource rows, which count every call even
 * when `calls` is truncated (a lower bound only when `usedTruncated` says rows were left out).
 */
export function allowedCalls(review: Pick<ActivityReview, 'used'>): number {
  return review.used.reduce((sum, u) => sum + u.calls, 0);
}

/** `21`, or `at least 21` when rows of `used` were left out. */
function allowedText(review: Pick<ActivityReview, 'used' | 'usedTruncated'>): string {
  return `${review.usedTruncated ? 'at least ' : ''}${allowedCalls(review)}`;
}

/**
 * Text from the review made safe for a terminal: control characters (an escape sequence in a hostile
 * reason could rewrite the screen or the window title) become `?`.
 */
export function plain(text: string): string {
  let safe = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    safe += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? '?' : ch;
  }
  return safe;
}

/** Every character HTML gives a meaning to, as an entity: safe in text and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"'`]/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[ch] ?? ch,
  );
}

/**
 * Text for Markdown (a table cell or a line): every punctuation mark Markdown or a ticket's renderer could
 * read as syntax (emphasis, links, raw HTML, cell separators) backslash-escaped, newlines folded.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').replace(/[\\`*_{}[\]()#+!|<>~&]/g, '\\$&');
}

/** A fenced code block whose fence is longer than any run of backticks inside it. */
function fence(text: string, lang: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const bar = '`'.repeat(Math.max(3, longest + 1));
  return `${bar}${lang}\n${text}\n${bar}`;
}

/** `PROVISIONAL` until the final review is stored, then `final (pass N)`. */
export function passText(review: Pick<ActivityReview, 'provisional' | 'pass'>): string {
  return review.provisional ? `PROVISIONAL (pass ${review.pass})` : `final (pass ${review.pass})`;
}

/** How the window ended: `revoked at …`, `expires at …`. */
function windowText(review: ActivityReview): string {
  const w = review.window;
  const end = w.revokedAt
    ? `revoked ${w.revokedAt}`
    : w.expiresAt
      ? `expires ${w.expiresAt}`
      : `until ${w.usableUntil}`;
  return `granted ${w.grantedAt} → ${end}; calls counted until ${w.usableUntil}`;
}

function firstUseText(review: ActivityReview): string {
  const f = review.firstUse;
  if (!f) return 'never used';
  return `${f.at}  ${f.action}${f.sourceIp ? ` from ${f.sourceIp}` : ''}${f.userAgent ? ` (${f.userAgent})` : ''}`;
}

/** The head of a review as label / value pairs, shared by every format. */
function headRows(review: ActivityReview): [string, string][] {
  return [
    ['request', review.requestId],
    ['status', review.status],
    ['rule', `${review.ruleId} (${review.kind} grant)${review.breakGlass ? ', BREAK-GLASS' : ''}`],
    ['requester', `${review.requester} → ${review.target} (account ${review.account})`],
    ['reason', review.reason],
    ...(review.ticket ? ([['ticket', review.ticket]] as [string, string][]) : []),
    [
      'approvals',
      review.approvals.length
        ? review.approvals.map((a) => `${a.approver} at ${a.at}`).join('; ')
        : 'none (auto-approved)',
    ],
    ['window', windowText(review)],
    ['review', `${passText(review)}, generated ${review.generatedAt}`],
    ['first use', firstUseText(review)],
  ];
}

function refusalCounts(review: ActivityReview): { inside: number; outside: number } {
  const inside = review.refused.filter((r) => r.insideGrant).length;
  return { inside, outside: review.refused.length - inside };
}

function unusedLine(review: ActivityReview): string {
  const total = grantedActions(review).length;
  return `${review.unused.actions.length} of ${total} granted actions never used (${percent(review.unused.share)})`;
}

function incompleteLine(review: ActivityReview): string {
  const failed = review.visibility.sources.filter((s) => s.error).map((s) => s.name);
  return `INCOMPLETE REVIEW: ${failed.length ? failed.join(', ') : 'a source'} failed; calls may be missing`;
}

function integrityLine(review: ActivityReview): string {
  const i = review.integrity;
  return i.ok
    ? `hash chain intact (${i.events} events)`
    : `hash chain BROKEN (${i.events} events): ${i.problem ?? 'unknown problem'}`;
}

/** Indents each line of a block by two spaces. */
function indent(block: string): string {
  return block
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

/** The review as a terminal report (colours from `c`; pass plain colours when writing a file). */
export function reviewText(review: ActivityReview, c: Colours): string {
  const { inside, outside } = refusalCounts(review);
  const head = `${c.bold(plain(review.requestId))}  review  ${review.provisional ? c.yellow(passText(review)) : c.green(passText(review))}`;
  const lines = [
    head,
    ...(review.visibility.incomplete ? [c.red(c.bold(incompleteLine(review)))] : []),
    indent(table(headRows(review).map(([k, v]) => [k, plain(v)]))),
    '',
    c.bold(
      `used: ${allowedText(review)} allowed call(s) on ${review.used.length}${review.usedTruncated ? ' listed' : ''} action × resource pair(s)`,
    ),
  ];
  if (review.used.length) {
    const rows = review.used.map((u) =>
      [
        u.action,
        u.resource,
        String(u.calls),
        u.firstAt,
        u.lastAt,
        u.sessions.join(', '),
        u.sourceIps.join(', '),
      ].map(plain),
    );
    lines.push(
      indent(table(rows, ['ACTION', 'RESOURCE', 'CALLS', 'FIRST', 'LAST', 'SESSIONS', 'SOURCE IPS'])),
    );
  }
  lines.push(
    '',
    c.bold(`refused: ${review.refused.length} call(s), ${inside} inside the grant, ${outside} outside`),
  );
  if (review.refused.length) {
    const rows = review.refused.map((r) =>
      [r.at, r.action, r.resource, r.errorCode, r.insideGrant ? 'inside' : 'outside', r.sourceIp ?? ''].map(
        plain,
      ),
    );
    lines.push(indent(table(rows, ['AT', 'ACTION', 'RESOURCE', 'ERROR', 'GRANT', 'SOURCE IP'])));
  }
  lines.push('', c.bold(`unused: ${unusedLine(review)}`));
  if (review.unused.actions.length) lines.push(indent(review.unused.actions.map(plain).join('\n')));
  lines.push('', c.bold('suggested least-privilege policy'));
  lines.push(
    review.suggestedPolicy.Statement.length
      ? indent(JSON.stringify(review.suggestedPolicy, null, 2).split('\n').map(plain).join('\n'))
      : indent(c.dim('(nothing was used: no policy to suggest)')),
  );
  lines.push('', c.bold(`visibility: ${review.visibility.eventClasses.join(', ')} events`));
  const sources = review.visibility.sources.map((s) =>
    [s.name, s.eventClasses.join('+'), String(s.calls), String(s.events), s.error ?? 'ok'].map(plain),
  );
  if (sources.length) lines.push(indent(table(sources, ['SOURCE', 'CLASSES', 'CALLS', 'EVENTS', 'STATUS'])));
  if (!review.visibility.eventClasses.includes('data')) {
    lines.push(indent(c.dim('data events (S3 objects, DynamoDB items, …) were not visible to this review')));
  }
  if (review.visibility.incomplete) lines.push(indent(c.red(c.bold(incompleteLine(review)))));
  if (review.callsTruncated)
    lines.push(indent(c.dim(`only the first ${review.calls.length} calls are listed`)));
  lines.push(
    '',
    `integrity: ${review.integrity.ok ? c.green(integrityLine(review)) : c.red(integrityLine(review))}`,
  );
  if (review.hash) lines.push(indent(c.dim(`review sha256 ${plain(review.hash)}`)));
  return lines.join('\n');
}

/** A Markdown table; every cell escaped. */
function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(escapeMarkdown).join(' | ')} |`;
  return [line(header), `|${header.map(() => ' --- ').join('|')}|`, ...rows.map(line)].join('\n');
}

/** The review as Markdown: headings and tables an auditor can paste into a ticket. */
export function reviewMarkdown(review: ActivityReview): string {
  const { inside, outside } = refusalCounts(review);
  const parts = [
    `# Access review: ${escapeMarkdown(review.requestId)}`,
    review.provisional
      ? `> **PROVISIONAL** (pass ${review.pass}): calls may still arrive; the final review replaces this one.`
      : `> Final review (pass ${review.pass}).`,
    ...(review.visibility.incomplete ? [`> **${escapeMarkdown(incompleteLine(review))}**`] : []),
    mdTable(['Field', 'Value'], headRows(review)),
    `## Used actions (${allowedText(review)} allowed calls${review.usedTruncated ? '; more pairs than listed' : ''})`,
    review.used.length
      ? mdTable(USED_HEADERS, review.used.map(usedCells))
      : '_No allowed call was made with this grant._',
    `## Refusals (${review.refused.length}: ${inside} inside the grant, ${outside} outside)`,
    review.refused.length ? mdTable(REFUSAL_HEADERS, review.refused.map(refusalCells)) : '_None._',
    '## Unused actions',
    escapeMarkdown(unusedLine(review)),
    ...(review.unused.actions.length
      ? [review.unused.actions.map((a) => `- ${escapeMarkdown(a)}`).join('\n')]
      : []),
    '## Suggested least-privilege policy',
    review.suggestedPolicy.Statement.length
      ? fence(JSON.stringify(review.suggestedPolicy, null, 2), 'json')
      : '_Nothing was used: no policy to suggest._',
    '## Visibility',
    `Event classes: ${escapeMarkdown(review.visibility.eventClasses.join(', '))}.${review.callsTruncated ? ` Only the first ${review.calls.length} calls are listed.` : ''}`,
    mdTable(
      ['Source', 'Classes', 'Calls', 'Events', 'Status'],
      review.visibility.sources.map((s) => [
        s.name,
        s.eventClasses.join(', '),
        String(s.calls),
        String(s.events),
        s.error ? `FAILED: ${s.error}` : 'ok',
      ]),
    ),
    '## Integrity',
    `${review.integrity.ok ? '' : '**'}${escapeMarkdown(integrityLine(review))}${review.integrity.ok ? '' : '**'}${review.hash ? `  \nReview SHA-256: \`${review.hash.replace(/[^0-9a-fA-F]/g, '')}\`` : ''}`,
  ];
  return `${parts.join('\n\n')}\n`;
}

/** Geometry of the timeline picture. */
const SVG = { width: 960, height: 190, left: 24, right: 24, axis: 150, allowed: 92, refused: 118 } as const;

/** A moment of the window drawn as a labelled vertical line. */
interface Marker {
  readonly kind: 'approval' | 'grant' | 'first-use' | 'revoke' | 'expiry';
  readonly at: string;
  readonly label: string;
}

function markersOf(review: ActivityReview): Marker[] {
  const w = review.window;
  return [
    ...review.approvals.map((a) => ({
      kind: 'approval' as const,
      at: a.at,
      label: `approved by ${a.approver.split(/[/:]/).pop() || a.approver}`,
    })),
    { kind: 'grant', at: w.grantedAt, label: 'granted' },
    ...(review.firstUse ? [{ kind: 'first-use' as const, at: review.firstUse.at, label: 'first use' }] : []),
    ...(w.revokedAt ? [{ kind: 'revoke' as const, at: w.revokedAt, label: 'revoked' }] : []),
    ...(w.expiresAt ? [{ kind: 'expiry' as const, at: w.expiresAt, label: 'expiry' }] : []),
  ];
}

/**
 * The window as an inline SVG: the grant's span shaded, a line per approval, the grant, the first use, the
 * revoke and the expiry, and one mark per listed call (allowed above, refused below). Each mark has a
 * `<title>`, so hovering it names the call without any script.
 */
export function timelineSvg(review: ActivityReview): string {
  const markers = markersOf(review);
  const times = [...markers.map((m) => m.at), ...review.calls.map((x) => x.at), review.window.usableUntil]
    .map((t) => Date.parse(t))
    .filter((t) => Number.isFinite(t));
  let from = Math.min(...times);
  let to = Math.max(...times);
  if (!Number.isFinite(from) || !Number.isFinite(to)) from = to = 0;
  if (to - from < 60_000) to = from + 60_000;
  const pad = (to - from) * 0.03;
  from -= pad;
  to += pad;
  const span = SVG.width - SVG.left - SVG.right;
  const x = (iso: string) => {
    const t = Date.parse(iso);
    return (SVG.left + ((Number.isFinite(t) ? t - from : 0) / (to - from)) * span).toFixed(1);
  };
  const end = review.window.revokedAt ?? review.window.expiresAt ?? review.window.usableUntil;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 ${SVG.width} ${SVG.height}" role="img" aria-label="timeline of the grant window">`,
    `<rect class="window" x="${x(review.window.grantedAt)}" y="24" width="${Math.max(1, Number(x(end)) - Number(x(review.window.grantedAt))).toFixed(1)}" height="${SVG.axis - 24}"><title>${escapeHtml(`grant window ${review.window.grantedAt} → ${end}`)}</title></rect>`,
    `<line class="axis" x1="${SVG.left}" y1="${SVG.axis}" x2="${SVG.width - SVG.right}" y2="${SVG.axis}"/>`,
    `<text class="tick" x="${SVG.left}" y="${SVG.axis + 18}">${escapeHtml(new Date(from).toISOString().slice(0, 16))}Z</text>`,
    `<text class="tick" x="${SVG.width - SVG.right}" y="${SVG.axis + 18}" text-anchor="end">${escapeHtml(new Date(to).toISOString().slice(0, 16))}Z</text>`,
    `<text class="lane" x="${SVG.left + 2}" y="${SVG.allowed - 10}">allowed</text>`,
    `<text class="lane" x="${SVG.left + 2}" y="${SVG.refused + 16}">refused</text>`,
  ];
  // Labels take turns on three rows so that close moments (grant and first use) stay readable.
  markers.forEach((m, i) => {
    const at = x(m.at);
    parts.push(
      `<g class="mark ${m.kind}"><line x1="${at}" y1="${12 + (i % 3) * 14}" x2="${at}" y2="${SVG.axis}"/>` +
        `<text x="${at}" y="${10 + (i % 3) * 14}">${escapeHtml(m.label)}</text>` +
        `<title>${escapeHtml(`${m.label} at ${m.at}`)}</title></g>`,
    );
  });
  for (const call of review.calls) parts.push(callMark(call, x(call.at)));
  parts.push('</svg>');
  return parts.join('\n');
}

/** One call: a dot on the allowed lane, a cross on the refused lane. */
function callMark(call: ReviewedCall, at: string): string {
  const title = `<title>${escapeHtml(`${call.at} ${call.action} on ${call.resource}${call.errorCode ? ` (${call.errorCode})` : ''}${call.sourceIp ? ` from ${call.sourceIp}` : ''}`)}</title>`;
  if (call.outcome === 'allowed') {
    return `<circle class="call allowed" cx="${at}" cy="${SVG.allowed}" r="4">${title}</circle>`;
  }
  const y = SVG.refused;
  const n = Number(at);
  return `<path class="call refused" d="M${n - 4} ${y - 4}L${n + 4} ${y + 4}M${n - 4} ${y + 4}L${n + 4} ${y - 4}">${title}</path>`;
}

/** An HTML table; every cell escaped (cells given as `{ html }` are trusted markup built here). */
function htmlTable(
  header: readonly string[],
  rows: readonly (readonly (string | { html: string })[])[],
): string {
  const cell = (v: string | { html: string }) => (typeof v === 'string' ? escapeHtml(v) : v.html);
  return [
    '<table>',
    `<thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((v) => `<td>${cell(v)}</td>`).join('')}</tr>`),
    '</tbody></table>',
  ].join('\n');
}

/** A link to a CloudTrail record, only for an https URL (never `javascript:` or the like). */
function eventLink(call: ReviewedCall): string | { html: string } {
  if (!/^https:\/\//i.test(call.link)) return call.eventId;
  return { html: `<a href="${escapeHtml(call.link)}" rel="noreferrer">${escapeHtml(call.eventId)}</a>` };
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d232a;max-width:1100px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d8dee4;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d8dee4;padding:.3rem .5rem;text-align:left;vertical-align:top;word-break:break-word}
th{background:#f3f5f7}td.num{text-align:right}.head th{width:9rem}
.banner{padding:.6rem .9rem;border-radius:4px;margin:.6rem 0;font-weight:600}
.provisional{background:#fff4d6;border:1px solid #e0b100}.final{background:#e3f6e8;border:1px solid #3c9a5f}
.incomplete,.broken{background:#fde4e4;border:2px solid #c62828;color:#8e1616}
pre{background:#f6f8fa;border:1px solid #d8dee4;padding:.8rem;overflow:auto}
svg.timeline{width:100%;height:auto;border:1px solid #d8dee4;background:#fff}
.timeline .window{fill:#e3f6e8}.timeline .axis{stroke:#57606a;stroke-width:1}
.timeline text{font-size:11px;fill:#57606a}.timeline .lane{font-style:italic}
.timeline .mark line{stroke-width:1.5}.timeline .mark text{font-size:11px}
.timeline .approval line{stroke:#1f6feb}.timeline .grant line{stroke:#2da44e}.timeline .first-use line{stroke:#8250df}
.timeline .revoke line{stroke:#cf222e}.timeline .expiry line{stroke:#57606a;stroke-dasharray:4 3}
.timeline .call.allowed{fill:#2da44e}.timeline .call.refused{stroke:#cf222e;stroke-width:2;fill:none}
.legend span{margin-right:1.2rem}.muted{color:#57606a}`;

/**
 * The review as one self-contained HTML page: inline CSS and SVG, no script and no external asset, and a
 * Content-Security-Policy that forbids both, should a string ever slip past `escapeHtml`.
 */
export function reviewHtml(review: ActivityReview): string {
  const { inside, outside } = refusalCounts(review);
  const e = escapeHtml;
  const body = [
    `<h1>Access review: ${e(review.requestId)}</h1>`,
    `<p class="muted">Generated ${e(review.generatedAt)} by jit audit.</p>`,
    review.provisional
      ? `<div class="banner provisional">PROVISIONAL (pass ${review.pass}): calls may still arrive; the final review replaces this one.</div>`
      : `<div class="banner final">Final review (pass ${review.pass}).</div>`,
    ...(review.visibility.incomplete
      ? [`<div class="banner incomplete">${e(incompleteLine(review))}</div>`]
      : []),
    ...(review.integrity.ok ? [] : [`<div class="banner broken">${e(integrityLine(review))}</div>`]),
    `<table class="head"><tbody>${headRows(review)
      .map(([k, v]) => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`)
      .join('')}</tbody></table>`,
    '<h2>Timeline</h2>',
    timelineSvg(review),
    `<p class="legend muted"><span>● allowed call</span><span>✕ refused call</span><span>blue: approval</span><span>green: grant</span><span>purple: first use</span><span>red: revoke</span><span>dashed: expiry</span>${review.callsTruncated ? `<span>only the first ${review.calls.length} calls are drawn</span>` : ''}</p>`,
    `<h2>Used actions (${allowedText(review)} allowed calls${review.usedTruncated ? '; more pairs than listed' : ''})</h2>`,
    review.used.length
      ? htmlTable(USED_HEADERS, review.used.map(usedCells))
      : '<p>No allowed call was made with this grant.</p>',
    `<h2>Refusals (${review.refused.length}: ${inside} inside the grant, ${outside} outside)</h2>`,
    review.refused.length ? htmlTable(REFUSAL_HEADERS, review.refused.map(refusalCells)) : '<p>None.</p>',
    '<h2>Unused actions</h2>',
    `<p>${e(unusedLine(review))}</p>`,
    ...(review.unused.actions.length
      ? [`<ul>${review.unused.actions.map((a) => `<li><code>${e(a)}</code></li>`).join('')}</ul>`]
      : []),
    '<h2>Suggested least-privilege policy</h2>',
    review.suggestedPolicy.Statement.length
      ? `<pre>${e(JSON.stringify(review.suggestedPolicy, null, 2))}</pre>`
      : '<p>Nothing was used: no policy to suggest.</p>',
    '<h2>Visibility</h2>',
    `<p>Event classes: ${e(review.visibility.eventClasses.join(', '))}.</p>`,
    htmlTable(
      ['Source', 'Classes', 'Calls', 'Events', 'Status'],
      review.visibility.sources.map((s) => [
        s.name,
        s.eventClasses.join(', '),
        String(s.calls),
        String(s.events),
        s.error ? `FAILED: ${s.error}` : 'ok',
      ]),
    ),
    '<h2>Integrity</h2>',
    `<p>${e(integrityLine(review))}${review.hash ? `<br>Review SHA-256: <code>${e(review.hash)}</code>` : ''}</p>`,
    `<h2>Calls (${review.calls.length}${review.callsTruncated ? ', truncated' : ''})</h2>`,
    review.calls.length
      ? `<details><summary>Every listed call</summary>${htmlTable(
          ['At', 'Outcome', 'Action', 'Resource', 'Source IP', 'Session', 'Event'],
          review.calls.map((x) => [
            x.at,
            x.outcome === 'allowed' ? 'allowed' : `refused (${x.errorCode ?? 'error'})`,
            x.action,
            x.resource,
            x.sourceIp ?? '',
            x.session ?? '',
            eventLink(x),
          ]),
        )}</details>`
      : '<p>None.</p>',
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Access review ${e(review.requestId)}</title>
<style>${CSS}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

/** The review in one of the formats (`json`: as received, indented). */
export function renderReview(review: ActivityReview, format: ReviewFormat, c: Colours): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(review, null, 2)}\n`;
    case 'md':
      return reviewMarkdown(review);
    case 'html':
      return reviewHtml(review);
    default:
      return `${reviewText(review, c)}\n`;
  }
}
