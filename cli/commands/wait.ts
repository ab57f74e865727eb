import type { Command } from 'commander';
import { durationArg, idArg } from '../args.ts';
import { contextOf } from '../context.ts';
import { reportSettled } from '../format.ts';
import { waitFor } from '../wait.ts';

/** `jit wait <id>`. */
export function registerWait(program: Command): void {
  program
    .command('wait')
    .description('wait until a request is granted or ends, printing each change; exit code by status')
    .argument('<id>', 'the request id', idArg)
    .option('--timeout <duration>', 'stop waiting after this long: 900, 15m, 1h (exit 4)', durationArg)
    .addHelpText(
      'after',
      `
Ctrl-C stops waiting (exit 130); the request goes on, and jit wait <id> picks it up again.

Examples:
  $ jit wait 01J9Z6Q4N8W0X2K3M5P7R9T1V3 --timeout 15m && aws s3 ls s3://app-data/reports/`,
    )
    .action(async (id: string, flags: { timeout?: number }, command: Command) => {
      const { client, out } = contextOf(command);
      const doc = await waitFor(client, id, {
        out,
        ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout * 1000 }),
      });
      reportSettled(out, doc);
    });
}
