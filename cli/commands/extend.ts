import type { Command } from 'commander';
import { durationArg, idArg } from '../args.ts';
import { contextOf } from '../context.ts';
import { CliError, EXIT } from '../errors.ts';
import { reportSettled } from '../format.ts';
import type { Submitted } from '../types.ts';
import { waitFor } from '../wait.ts';

/** The options of `jit extend`. */
export interface ExtendFlags {
  /** Seconds. */
  readonly by?: number;
  readonly reasonCode?: string;
  readonly reason?: string;
  readonly wait?: boolean;
  /** Seconds. */
  readonly timeout?: number;
}

const invalid = (message: string) => new CliError(message, EXIT.INVALID);

/** The body of `POST /requests/{id}/extend` from the flags; throws exit 5 naming what is missing. */
export function buildExtendBody(flags: ExtendFlags): Record<string, unknown> {
  if (flags.by === undefined) throw invalid('--by is required: how much longer (15m, 1h)');
  if (!flags.reasonCode) throw invalid('--reason-code is required (e.g. work-not-finished)');
  if (flags.reason === undefined) throw invalid('--reason is required: approvers and the audit log read it');
  return { durationSeconds: flags.by, reasonCode: flags.reasonCode, reason: flags.reason };
}

/** `jit extend <id>`. */
export function registerExtend(program: Command): void {
  program
    .command('extend')
    .description('ask for more time on an active grant (a new request, decided again)')
    .argument('<id>', 'the granted request to extend', idArg)
    .option('--by <duration>', 'how much longer: 900, 15m, 1h', durationArg)
    .option(
      '--reason-code <code>',
      'work-not-finished, incident-ongoing, waiting-on-dependency, other (or the rule’s own)',
    )
    .option('--reason <text>', 'why, for the approvers and the audit log')
    .option('--wait', 'wait until the extension is active or ends; exit code as for jit request')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long (exit 4)', durationArg)
    .addHelpText(
      'after',
      `
Prints the extension's request id on stdout (JSON with --json); with --wait, its final status.
The extension has its own grant and expiry; the grant it extends still ends on its own schedule.

Examples:
  $ jit extend 01J9Z6Q4N8W0X2K3M5P7R9T1V3 --by 30m --reason-code work-not-finished \\
      --reason "the export is still running" --wait`,
    )
    .action(async (id: string, flags: ExtendFlags, command: Command) => {
      const { client, out } = contextOf(command);
      if (flags.timeout !== undefined && !flags.wait) throw invalid('--timeout goes with --wait');
      const body = buildExtendBody(flags);
      const submitted = await client.call<Submitted>('POST /requests/{id}/extend', { id }, { body });
      if (!flags.wait) {
        out.result(submitted, () => submitted.requestId);
        out.progress(
          `extension ${submitted.requestId} of ${id} (${submitted.status}); follow it with: jit wait ${submitted.requestId}`,
        );
        return;
      }
      out.progress(
        `extension ${submitted.requestId} of ${id}; waiting (Ctrl-C stops waiting, not the request)`,
      );
      const doc = await waitFor(client, submitted.requestId, {
        out,
        ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout * 1000 }),
      });
      reportSettled(out, doc);
    });
}
