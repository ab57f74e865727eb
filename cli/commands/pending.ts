import type { Command } from 'commander';
import { contextOf } from '../context.ts';
import { requestTable } from '../format.ts';
import type { RequestPage } from '../types.ts';

/** `jit pending`. */
export function registerPending(program: Command): void {
  program
    .command('pending')
    .description('requests waiting for your approval, oldest first')
    .addHelpText(
      'after',
      `
Examples:
  $ jit pending
  $ jit status <id> && jit approve <id> --comment "ok"`,
    )
    .action(async (_flags: unknown, command: Command) => {
      const { client, out } = contextOf(command);
      const answer = await client.call<RequestPage>('GET /pending');
      out.result(answer, () => requestTable(answer.requests, out.c));
      if (!out.json && answer.requests.length > 0)
        out.progress('decide with: jit approve <id> / jit deny <id> --reason <text>');
    });
}
