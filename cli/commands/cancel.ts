import type { Command } from 'commander';
import { idArg } from '../args.ts';
import { contextOf } from '../context.ts';

/** `jit cancel <id>`. */
export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('withdraw your request before it is decided')
    .argument('<id>', 'the request id', idArg)
    .addHelpText(
      'after',
      `
Examples:
  $ jit cancel 01J9Z6Q4N8W0X2K3M5P7R9T1V3`,
    )
    .action(async (id: string, _flags: unknown, command: Command) => {
      const { client, out } = contextOf(command);
      const answer = await client.call<{ requestId: string; status: string }>(
        'POST /requests/{id}/cancel',
        { id },
        { body: {} },
      );
      out.result(answer, () => `${answer.requestId}  ${answer.status}`);
    });
}
