/**
 * `jit audit --since 7d`: the reviews of every grant of a window summed up, and the rules whose grants are
 * mostly unused (candidates for narrowing). Pure: reviews in, a summary and its text out.
 */
import type { ActivityReview } from '#core/audit/review-report.ts';
import { type Colours, table } from './output.ts';
import { allowedCalls, escapeMarkdown, grantedActions, percent, plain } from './review-format.ts';

/** The statuses of a request that was granted at some point: only those have a review. */
export const GRANTED_STATUSES: readonly string[] = ['GRANTED', 'REVOKED', 'REVOKE_FAILED'];

/** A rule gets a right-sizing hint from this many grants in the window… */
export const HINT_MIN_GRANTS = 3;
/** …when on average at least this share of the actions they granted was never used. */
export const HINT_MIN_UNUSED_SHARE = 0.5;

/** One grant of the window, in a line. */
export interface GrantLine {
  readonly requestId: string;
  readonly ruleId: string;
  readonly requester: string;
  readonly grantedAt: string;
  readonly calls: number;
  readonly refusals: number;
  readonly unusedShare: number;
  readonly provisional: boolean;
  readonly incomplete: boolean;
}

/** A rule whose grants are mostly unused. */
export interface RuleHint {
  readonly ruleId: string;
  readonly grants: number;
  readonly meanUnusedShare: number;
  /** Actions granted by some grant of the rule and used by at least one. */
  readonly usedActions: readonly string[];
  /** Actions granted by some grant of the rule and used by none. */
  readonly neverUsedActions: readonly string[];
}

/** A request whose review could not be read (not allowed, gone, never granted after all). */
export interface Skipped {
  readonly requestId: string;
  readonly reason: string;
}

/** What `jit audit --since` prints. */
export interface AuditSummary {
  /** ISO 8601: the start of the window. */
  readonly since: string;
  readonly grants: number;
  /** Allowed and refused calls of every grant. */
  readonly calls: number;
  /** True when a review listed only some of its used rows: `calls` is then a lower bound. */
  readonly callsAtLeast: boolean;
  readonly refusals: number;
  /** The mean of the grants' unused shares; null without grants. */
  readonly meanUnusedShare: number | null;
  /** Grants with no allowed call. */
  readonly neverUsed: readonly GrantLine[];
  readonly hints: readonly RuleHint[];
  /** Reviews still provisional (the final review comes 15 minutes after the revoke). */
  readonly provisional: number;
  /** Reviews a source failed for: they may miss calls. */
  readonly incomplete: readonly string[];
  readonly skipped: readonly Skipped[];
  readonly reviews: readonly GrantLine[];
}

function mean(values: readonly number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

function lineOf(review: ActivityReview): GrantLine {
  return {
    requestId: review.requestId,
    ruleId: review.ruleId,
    requester: review.requester,
    grantedAt: review.window.grantedAt,
    calls: allowedCalls(review) + review.refused.length,
    refusals: review.refused.length,
    unusedShare: review.unused.share,
    provisional: review.provisional,
    incomplete: review.visibility.incomplete,
  };
}

/**
 * The hint of one rule, or undefined when it has too few grants or they use most of what they get. An
 * action counts as used when any grant of the rule used it: one grant needing it is reason enough to keep it.
 */
export function ruleHint(ruleId: string, reviews: readonly ActivityReview[]): RuleHint | undefined {
  const share = mean(reviews.map((r) => r.unused.share));
  if (reviews.length < HINT_MIN_GRANTS || share === null || share < HINT_MIN_UNUSED_SHARE) return undefined;
  const granted = new Set<string>();
  const used = new Set<string>();
  for (const review of reviews) {
    const unused = new Set(review.unused.actions);
    for (const action of grantedActions(review)) {
      granted.add(action);
      if (!unused.has(action)) used.add(action);
    }
  }
  return {
    ruleId,
    grants: reviews.length,
    meanUnusedShare: share,
    usedActions: [...used].sort(),
    neverUsedActions: [...granted].filter((a) => !used.has(a)).sort(),
  };
}

/** The summary of the reviews of a window (`skipped`: the requests whose review could not be read). */
export function summarize(
  since: string,
  reviews: readonly ActivityReview[],
  skipped: readonly Skipped[] = [],
): AuditSummary {
  const lines = reviews.map(lineOf);
  const byRule = new Map<string, ActivityReview[]>();
  for (const review of reviews) byRule.set(review.ruleId, [...(byRule.get(review.ruleId) ?? []), review]);
  const hints = [...byRule]
    .map(([ruleId, of]) => ruleHint(ruleId, of))
    .filter((h): h is RuleHint => h !== undefined)
    .sort((a, b) => b.meanUnusedShare - a.meanUnusedShare || a.ruleId.localeCompare(b.ruleId));
  return {
    since,
    grants: reviews.length,
    calls: lines.reduce((sum, l) => sum + l.calls, 0),
    callsAtLeast: reviews.some((r) => r.usedTruncated),
    refusals: lines.reduce((sum, l) => sum + l.refusals, 0),
    meanUnusedShare: mean(lines.map((l) => l.unusedShare)),
    neverUsed: reviews.filter((r) => r.used.length === 0).map(lineOf),
    hints,
    provisional: lines.filter((l) => l.provisional).length,
    incomplete: lines.filter((l) => l.incomplete).map((l) => l.requestId),
    skipped,
    reviews: lines,
  };
}

/** A hint as one sentence. */
export function hintText(hint: RuleHint): string {
  const narrow = hint.usedActions.length
    ? `consider narrowing to ${hint.usedActions.join(', ')}`
    : 'consider whether the rule is needed at all';
  const never = hint.neverUsedActions.length ? ` (never used: ${hint.neverUsedActions.join(', ')})` : '';
  return `rule ${hint.ruleId}: ${percent(hint.meanUnusedShare)} of granted actions never used over ${hint.grants} grants; ${narrow}${never}`;
}

function totalsRows(s: AuditSummary): string[][] {
  return [
    ['since', s.since],
    ['grants reviewed', String(s.grants)],
    ['total calls', `${s.callsAtLeast ? 'at least ' : ''}${s.calls}`],
    ['refusals', String(s.refusals)],
    ['mean unused share', s.meanUnusedShare === null ? '-' : percent(s.meanUnusedShare)],
    ['never used', String(s.neverUsed.length)],
    ['provisional', String(s.provisional)],
  ];
}

/** The summary for a terminal. */
export function summaryText(s: AuditSummary, c: Colours): string {
  const lines = [
    c.bold(`audit of the grants since ${s.since}`),
    table(totalsRows(s))
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  ];
  if (s.incomplete.length) {
    lines.push(
      c.red(c.bold(`INCOMPLETE: a source failed for ${s.incomplete.join(', ')}; calls may be missing`)),
    );
  }
  if (s.skipped.length) {
    lines.push('', c.bold(`not reviewed (${s.skipped.length})`));
    lines.push(...s.skipped.map((k) => `  ${plain(k.requestId)}  ${plain(k.reason)}`));
  }
  if (s.neverUsed.length) {
    lines.push('', c.bold(`grants never used (${s.neverUsed.length})`));
    const rows = s.neverUsed.map((g) => [g.requestId, g.ruleId, g.requester, g.grantedAt].map(plain));
    lines.push(
      table(rows, ['REQUEST', 'RULE', 'REQUESTER', 'GRANTED'])
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  lines.push('', c.bold('right-sizing'));
  lines.push(
    s.hints.length
      ? s.hints.map((h) => `  ${c.yellow(plain(hintText(h)))}`).join('\n')
      : c.dim(
          `  no rule has ${HINT_MIN_GRANTS}+ grants with ${percent(HINT_MIN_UNUSED_SHARE)}+ of their actions unused`,
        ),
  );
  return lines.join('\n');
}

/** The summary as Markdown, for a ticket or a report. */
export function summaryMarkdown(s: AuditSummary): string {
  const row = (cells: readonly string[]) => `| ${cells.map(escapeMarkdown).join(' | ')} |`;
  const mdTable = (header: readonly string[], rows: readonly (readonly string[])[]) =>
    [row(header), `|${header.map(() => ' --- ').join('|')}|`, ...rows.map(row)].join('\n');
  const parts = [
    `# Access audit since ${escapeMarkdown(s.since)}`,
    mdTable(['Measure', 'Value'], totalsRows(s)),
    ...(s.incomplete.length
      ? [
          `> **INCOMPLETE: a source failed for ${escapeMarkdown(s.incomplete.join(', '))}; calls may be missing.**`,
        ]
      : []),
    '## Grants never used',
    s.neverUsed.length
      ? mdTable(
          ['Request', 'Rule', 'Requester', 'Granted'],
          s.neverUsed.map((g) => [g.requestId, g.ruleId, g.requester, g.grantedAt]),
        )
      : '_None._',
    '## Right-sizing',
    s.hints.length ? s.hints.map((h) => `- ${escapeMarkdown(hintText(h))}`).join('\n') : '_No hints._',
    '## Grants',
    s.reviews.length
      ? mdTable(
          ['Request', 'Rule', 'Requester', 'Calls', 'Refusals', 'Unused', 'Review'],
          s.reviews.map((g) => [
            g.requestId,
            g.ruleId,
            g.requester,
            String(g.calls),
            String(g.refusals),
            percent(g.unusedShare),
            `${g.provisional ? 'provisional' : 'final'}${g.incomplete ? ', incomplete' : ''}`,
          ]),
        )
      : '_No grants in the window._',
    ...(s.skipped.length
      ? [
          '## Not reviewed',
          mdTable(
            ['Request', 'Why'],
            s.skipped.map((k) => [k.requestId, k.reason]),
          ),
        ]
      : []),
  ];
  return `${parts.join('\n\n')}\n`;
}
