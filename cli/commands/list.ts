import type { Command } from 'commander';
import { intArg } from '../args.ts';
import { contextOf } from '../context.ts';
import { requestTable } from '../format.ts';
import type { PublicRequest, RequestPage } from '../types.ts';

/** `jit list`. */
export function registerList(program: Command): void {
  program
    .command('list')
    .description('your requests, newest first (follows the API paging to the end)')
    .option('--limit <n>', 'requests per page asked of the API (1-100)', intArg(1, 100), 50)
    .addHelpText(
      'after',
      `
Examples:
  $ jit list
  $ jit list --json | jq -r '.requests[] | select(.status == "GRANTED") | .id'`,
    )
    .action(async (flags: { limit: number }, command: Command) => {
      const { client, out } = contextOf(command);
      const requests: PublicRequest[] = [];
      const seen = new Set<string>();
      let next: string | undefined;
      do {
        const page = await client.call<RequestPage>(
          'GET /requests',
          {},
          { query: { limit: String(flags.limit), next } },
        );
        requests.push(...page.requests);
        next = page.next;
        // A cursor seen before would loop forever: the API never sends one, but the CLI does not rely on it.
        if (next !== undefined && seen.has(next)) break;
        if (next !== undefined) seen.add(next);
      } while (next !== undefined);
      out.result({ requests }, () => requestTable(requests, out.c));
    });
}
