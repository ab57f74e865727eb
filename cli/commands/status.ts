import type { Command } from 'commander';
import { idArg } from '../args.ts';
import { contextOf } from '../context.ts';
import { describeRequest } from '../format.ts';
import type { RequestDocument } from '../types.ts';

/** `jit status <id>`. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('a request: status, access, approvals and its audit events (requester or approvers)')
    .argument('<id>', 'the request id', idArg)
    .addHelpText(
      'after',
      `
Exits 0 when the request was shown, whatever its status (jit wait exits by status).

Examples:
  $ jit status 01J9Z6Q4N8W0X2K3M5P7R9T1V3
  $ jit status 01J9Z6Q4N8W0X2K3M5P7R9T1V3 --json | jq -r .status`,
    )
    .action(async (id: string, _flags: unknown, command: Command) => {
      const { client, out } = contextOf(command);
      const doc = await client.call<RequestDocument>('GET /requests/{id}', { id });
      out.result(doc, () => describeRequest(doc, out.c));
    });
}
