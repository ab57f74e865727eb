import type { Command } from 'commander';
import type { DecisionResult } from '#core/requests/requests.ts';
import { idArg } from '../args.ts';
import { contextOf } from '../context.ts';

function describe(answer: DecisionResult): string {
  return `${answer.requestId}  ${answer.status}  approvals ${answer.approvals}/${answer.required}`;
}

/** `jit approve <id>`. */
export function registerApprove(program: Command): void {
  program
    .command('approve')
    .description("approve a request of someone else's under a rule you approve for")
    .argument('<id>', 'the request id', idArg)
    .option('--comment <text>', 'a note for the audit log')
    .addHelpText(
      'after',
      `
Examples:
  $ jit pending
  $ jit approve 01J9Z6Q4N8W0X2K3M5P7R9T1V3 --comment "ok for INC-42"`,
    )
    .action(async (id: string, flags: { comment?: string }, command: Command) => {
      const { client, out } = contextOf(command);
      const body = flags.comment === undefined ? {} : { comment: flags.comment };
      const answer = await client.call<DecisionResult>('POST /requests/{id}/approve', { id }, { body });
      out.result(answer, () => describe(answer));
    });
}

/** `jit deny <id> --reason`. */
export function registerDeny(program: Command): void {
  program
    .command('deny')
    .description('deny a request; the requester sees the reason')
    .argument('<id>', 'the request id', idArg)
    .requiredOption('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      `
Examples:
  $ jit deny 01J9Z6Q4N8W0X2K3M5P7R9T1V3 --reason "use the read-only role"`,
    )
    .action(async (id: string, flags: { reason: string }, command: Command) => {
      const { client, out } = contextOf(command);
      const answer = await client.call<DecisionResult>(
        'POST /requests/{id}/deny',
        { id },
        { body: { reason: flags.reason } },
      );
      out.result(answer, () => describe(answer));
    });
}
