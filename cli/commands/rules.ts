import type { Command } from 'commander';
import { contextOf } from '../context.ts';
import { describeRules } from '../format.ts';
import type { RulesAnswer } from '../types.ts';

/** `jit rules`. */
export function registerRules(program: Command): void {
  program
    .command('rules')
    .description('the rules you may request access under: targets, actions, resources, approval')
    .addHelpText(
      'after',
      `
Examples:
  $ jit rules
  $ jit rules --json | jq -r '.rules[].id'`,
    )
    .action(async (_flags: unknown, command: Command) => {
      const { client, out } = contextOf(command);
      const answer = await client.call<RulesAnswer>('GET /rules');
      out.result(answer, () => describeRules(answer.rules, out.c));
    });
}
