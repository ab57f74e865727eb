import type { Command } from 'commander';
import { contextOf } from '../context.ts';
import { requestTable, shortName } from '../format.ts';
import { type Colours, table } from '../output.ts';
import type { PendingAnswer, PublicRequest } from '../types.ts';
import { REVIEWS_NEEDED } from './review.ts';

/** The heading of the break-glass section of `jit pending`. */
export const REVIEWS_HEADING = 'Break-glass reviews due';

/** Break-glass grants awaiting review: id, requester, incident, due by (overdue marked), reviews so far. */
export function reviewsTable(reviews: readonly PublicRequest[], c: Colours, now = Date.now()): string {
  const rows = reviews.map((r) => {
    const bg = r.breakGlass;
    const due = bg?.reviewDueBy;
    const overdue = bg?.overdueAt !== undefined || (due !== undefined && Date.parse(due) < now);
    return [
      r.id,
      shortName(r.requester),
      bg?.incident ?? '',
      `${due ?? '-'}${overdue ? ' OVERDUE' : ''}`,
      `${bg?.reviews.length ?? 0}/${REVIEWS_NEEDED}`,
    ];
  });
  // Colour after padding, so escape codes do not upset the columns.
  return table(rows, ['ID', 'REQUESTER', 'INCIDENT', 'DUE BY', 'REVIEWS'])
    .split('\n')
    .map((line, i) => (i === 0 ? c.bold(line) : line.replace(' OVERDUE', ` ${c.red('OVERDUE')}`)))
    .join('\n');
}

/** `jit pending` as text: the approvals table, then the break-glass reviews due when there are any. */
export function describePending(answer: PendingAnswer, c: Colours, now = Date.now()): string {
  const reviews = answer.reviews ?? [];
  if (reviews.length === 0) return requestTable(answer.requests, c);
  const sections = [`${c.bold(REVIEWS_HEADING)}\n${reviewsTable(reviews, c, now)}`];
  if (answer.requests.length > 0) sections.unshift(requestTable(answer.requests, c));
  return sections.join('\n\n');
}

/** `jit pending`. */
export function registerPending(program: Command): void {
  program
    .command('pending')
    .description('requests waiting for your approval, and break-glass grants waiting for your review')
    .addHelpText(
      'after',
      `
Lists the requests you may approve, oldest first, then (for break-glass reviewers) the break-glass grants
that ended and wait for your review, with their due-by time. --json prints the whole answer:
{"requests": [...], "reviews": [...]}.

Examples:
  $ jit pending
  $ jit status <id> && jit approve <id> --comment "ok"
  $ jit audit <id> && jit review <id> --verdict appropriate --notes "restored the export"`,
    )
    .action(async (_flags: unknown, command: Command) => {
      const { client, out } = contextOf(command);
      const answer = await client.call<PendingAnswer>('GET /pending');
      out.result(answer, () => describePending(answer, out.c));
      if (out.json) return;
      if (answer.requests.length > 0)
        out.progress('decide with: jit approve <id> / jit deny <id> --reason <text>');
      if ((answer.reviews?.length ?? 0) > 0)
        out.progress(
          'review with: jit audit <id>, then jit review <id> --verdict appropriate|misuse --notes <text>',
        );
    });
}
