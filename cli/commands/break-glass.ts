import { type Command, Option } from 'commander';
import { GRANT_KINDS } from '#core/grants/kinds.ts';
import { durationArg } from '../args.ts';
import { contextOf } from '../context.ts';
import { CliError, EXIT } from '../errors.ts';
import { paintStatus, reportSettled, timeLeft } from '../format.ts';
import { type Colours, table } from '../output.ts';
import type { RequestDocument, Submitted } from '../types.ts';
import { waitFor } from '../wait.ts';
import { buildRequestBody, type RequestFlags } from './request.ts';

/** The options of `jit break-glass`. */
export interface BreakGlassFlags
  extends Pick<
    RequestFlags,
    'target' | 'action' | 'resource' | 'duration' | 'reason' | 'kind' | 'wait' | 'timeout'
  > {
  readonly incident?: string;
  readonly reasonCode?: string;
}

const invalid = (message: string) => new CliError(message, EXIT.INVALID);

/**
 * The body of `POST /requests` for break-glass: the body `jit request` builds from the same flags, plus the
 * incident and the reason code that make the broker match it against break-glass rules only. Throws exit 5
 * naming what is missing; the broker checks the rest (the incident's shape, the reason code's list).
 */
export function buildBreakGlassBody(flags: BreakGlassFlags): Record<string, unknown> {
  const { incident, reasonCode, wait: _wait, timeout: _timeout, ...request } = flags;
  if (!incident?.trim()) throw invalid('--incident is required: the incident this access is for (INC-1234)');
  if (!reasonCode?.trim()) {
    throw invalid("--reason-code is required: one of the broker's break-glass reason codes (e.g. outage)");
  }
  if (request.reason === undefined) {
    throw invalid('--reason is required: the announcement and the reviewers read it');
  }
  return { ...buildRequestBody(request), incident, reasonCode };
}

/** A granted break-glass request as `jit break-glass` prints it: id, target, until when. */
export function describeBreakGlassGrant(doc: RequestDocument, c: Colours): string {
  const incident = doc.breakGlass?.incident;
  const head = [c.bold(doc.id), paintStatus(doc.status, c), 'break-glass'];
  if (incident) head.push(`${incident}${doc.reasonCode ? ` (${doc.reasonCode})` : ''}`);
  const rows = [
    ['target', doc.target],
    ['until', doc.expiresAt ? `${doc.expiresAt} (${timeLeft(doc.expiresAt)})` : 'unknown'],
  ];
  return [
    head.join('  '),
    ...table(rows)
      .split('\n')
      .map((l) => `  ${l}`),
  ].join('\n');
}

/** The one-line reminder printed with a break-glass grant. */
export function breakGlassReminder(id: string): string {
  return `break-glass ${id} has been announced, and two reviewers will review it after it ends (jit revoke ${id} ends it early)`;
}

/** `jit break-glass`. */
export function registerBreakGlass(program: Command): void {
  program
    .command('break-glass')
    .description('emergency access for an incident: granted at once with no approval, announced, reviewed')
    .option('--target <arn>', 'the IAM role or user that gets the access')
    .option('--action <action...>', 'IAM actions (several, or repeat the option)')
    .option('--resource <arn...>', 'resource ARNs or "*" (several, or repeat the option)')
    .option('--incident <id>', 'the incident this access is for (INC-1234)')
    .option('--reason-code <code>', "one of the broker's break-glass reason codes (e.g. outage)")
    .option('--reason <text>', 'why, for the announcement and the reviewers')
    .option('--duration <duration>', "how long: 900, 15m, 1h (default: the broker's)", durationArg)
    .addOption(
      new Option('--kind <kind>', 'policy: inline policy; credentials: STS credentials').choices(GRANT_KINDS),
    )
    .option('--no-wait', 'print the request id and return instead of waiting for the grant')
    .option('--timeout <duration>', 'stop waiting after this long (exit 4)', durationArg)
    .addHelpText(
      'after',
      `
Only break-glass rules answer a request naming an incident: there is no approval step, the grant is made
at once, announced at once (alerts, the security channel), and reviewed after it ends by two reviewers
(jit review). One break-glass grant at a time per person (409 BreakGlassActive, exit 1); an overdue
review suspends your break-glass until it is done (403, exit 6).

Waits until the access is active and prints the request id, the target and until when (the request as
JSON with --json); exit codes as for jit request --wait. With --no-wait, prints the request id.

Examples:
  $ jit break-glass --target arn:aws:iam::111122223333:role/app-operator \\
      --action s3:GetObject --action s3:PutObject --resource 'arn:aws:s3:::app-data/*' \\
      --incident INC-1234 --reason-code outage --reason "restore the export" --duration 30m`,
    )
    .action(async (flags: BreakGlassFlags, command: Command) => {
      const { client, out } = contextOf(command);
      if (flags.timeout !== undefined && !flags.wait)
        throw invalid('--timeout goes with waiting, not --no-wait');
      const body = buildBreakGlassBody(flags);
      const submitted = await client.call<Submitted>('POST /requests', {}, { body });
      if (!flags.wait) {
        out.result(submitted, () => submitted.requestId);
        out.progress(
          `break-glass ${submitted.requestId} (${submitted.status}); follow it with: jit wait ${submitted.requestId}`,
        );
        return;
      }
      out.progress(`break-glass ${submitted.requestId}; waiting for the grant (Ctrl-C stops waiting)`);
      const doc = await waitFor(client, submitted.requestId, {
        out,
        // No approval step: never look up a quorum.
        requiredApprovals: 0,
        ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout * 1000 }),
      });
      if (doc.status !== 'GRANTED') {
        reportSettled(out, doc);
        return;
      }
      out.result(doc, () => describeBreakGlassGrant(doc, out.c));
      out.progress(breakGlassReminder(doc.id));
      if (doc.kind === 'credentials') out.progress(`collect the credentials with: jit credentials ${doc.id}`);
      process.exitCode = EXIT.OK;
    });
}
