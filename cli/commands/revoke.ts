import type { Command } from 'commander';
import type { RevokeResult } from '#core/model.ts';
import { idArg } from '../args.ts';
import { contextOf } from '../context.ts';

/** `jit revoke <id>`. */
export function registerRevoke(program: Command): void {
  program
    .command('revoke')
    .description('end granted access now (requester or approvers)')
    .argument('<id>', 'the request id', idArg)
    .option('--reason <text>', 'why, for the audit log')
    .addHelpText(
      'after',
      `
Examples:
  $ jit revoke 01J9Z6Q4N8W0X2K3M5P7R9T1V3 --reason "done"`,
    )
    .action(async (id: string, flags: { reason?: string }, command: Command) => {
      const { client, out } = contextOf(command);
      const body = flags.reason === undefined ? {} : { reason: flags.reason };
      const answer = await client.call<RevokeResult>('POST /requests/{id}/revoke', { id }, { body });
      out.result(
        answer,
        () => `${answer.requestId}  ${answer.status}${answer.alreadyRevoked ? ' (already revoked)' : ''}`,
      );
    });
}
