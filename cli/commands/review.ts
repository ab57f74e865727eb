import { type Command, InvalidArgumentError, Option } from 'commander';
import { idArg } from '../args.ts';
import { contextOf } from '../context.ts';
import type { BreakGlassReviewResult } from '../types.ts';

/** The verdicts a break-glass reviewer gives. */
export const VERDICTS = ['appropriate', 'misuse'] as const;

/** One of {@link VERDICTS}. */
export type Verdict = (typeof VERDICTS)[number];

/**
 * The distinct reviewers that close a break-glass review (the broker's `BREAK_GLASS_REVIEWERS`, copied so
 * the CLI bundle does not pull in the core's workflow code; a unit test keeps the two equal).
 */
export const REVIEWS_NEEDED = 2;

/** Commander parser for `--verdict`: a usage error (exit 5) before any call for anything else. */
export function verdictArg(value: string): Verdict {
  if (!(VERDICTS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${VERDICTS.join(', ')}`);
  }
  return value as Verdict;
}

/** `review 1 of 2 recorded`, or `review complete` once the last reviewer has given a verdict. */
export function describeReview(answer: BreakGlassReviewResult): string {
  const verdicts = answer.reviews.map((r) => r.verdict).join(', ');
  const state = answer.reviewed
    ? `review complete (${verdicts})`
    : `review ${answer.reviews.length} of ${REVIEWS_NEEDED} recorded`;
  return `${answer.requestId}  ${state}`;
}

/** `jit review <id> --verdict --notes`. */
export function registerReview(program: Command): void {
  program
    .command('review')
    .description("give your verdict on someone else's break-glass grant, after it ended (reviewers)")
    .argument('<id>', 'the break-glass request id (jit pending lists those due)', idArg)
    .addOption(
      new Option('--verdict <verdict>', 'appropriate or misuse')
        .choices(VERDICTS)
        .argParser(verdictArg)
        .makeOptionMandatory(),
    )
    .requiredOption('--notes <text>', 'what you checked and why you judge so (for the audit log)')
    .addHelpText(
      'after',
      `
Two distinct reviewers close a break-glass review; never the requester. Read what the grant did first:
jit audit <id>. Exits 0 when recorded; 1 when it is not awaiting review or you already reviewed it
(409), 6 when you are not a break-glass reviewer or it is your own.

Examples:
  $ jit pending
  $ jit audit 01J9Z6Q4N8W0X2K3M5P7R9T1V3
  $ jit review 01J9Z6Q4N8W0X2K3M5P7R9T1V3 --verdict appropriate --notes "restored the export, nothing else"`,
    )
    .action(async (id: string, flags: { verdict: Verdict; notes: string }, command: Command) => {
      const { client, out } = contextOf(command);
      const answer = await client.call<BreakGlassReviewResult>(
        'POST /requests/{id}/review',
        { id },
        { body: { verdict: flags.verdict, notes: flags.notes } },
      );
      out.result(answer, () => describeReview(answer));
    });
}
