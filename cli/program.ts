import { Command, CommanderError } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { LOCAL_DEFAULT_URL } from './client.ts';
import { COMMANDS } from './commands/index.ts';
import { CliError, EXIT, EXIT_CODES_HELP, oneLine } from './errors.ts';
import { Output } from './output.ts';

/** The `jit` program: global options, every command, exit codes in `--help`; errors are thrown, never exit. */
export function buildProgram(): Command {
  const errors = new Output();
  const program = new Command('jit')
    .description('Just-in-time AWS access: request, approve, wait for and revoke scoped, time-limited grants')
    .version(pkg.version, '-V, --version', 'print the version')
    .option('--api <url>', 'the broker API URL, stage included (env JIT_API_URL)')
    .option('--profile <name>', 'AWS profile whose credentials sign the calls (default: the SDK chain)')
    .option('--region <region>', 'the API region (default: from the execute-api URL)')
    .option('--local', `call the local runtime (npm start; default ${LOCAL_DEFAULT_URL}): loopback only`)
    .option('--as <principal-arn>', 'with --local: who you are (env JIT_PRINCIPAL)')
    .option('--json', 'results as JSON on stdout (progress and errors stay on stderr)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Commander's own errors (unknown option, missing argument) as one line, like every other error.
      outputError: (text) => errors.error(text.replace(/^error: /, '')),
    })
    .addHelpText(
      'after',
      `
${EXIT_CODES_HELP}

Environment:
  JIT_API_URL     the API URL (after --api, before the saved config: ~/.config/jit/config.json,
                  or $XDG_CONFIG_HOME/jit/config.json; written by jit configure)
  JIT_PRINCIPAL   with --local: the caller (as --as)
  AWS_PROFILE     the profile of the AWS credential chain (as --profile)
  JIT_DEBUG=1     print the stack trace of an unexpected error
  NO_COLOR        no colour (colour is only ever used on a terminal)

Examples:
  $ jit rules
  $ jit request --rule app-read --target arn:aws:iam::111122223333:role/app-reader --reason "INC-42" --wait
  $ jit --local --as arn:aws:sts::111122223333:assumed-role/Approver/bob pending`,
    );
  for (const register of COMMANDS) register(program);
  return program;
}

/**
 * Runs `jit` on `argv` and resolves with the exit code: a command's own (set on `process.exitCode`), 0, or
 * the code of the error it threw, reported as one line on stderr (the stack only with `JIT_DEBUG=1`).
 */
export async function run(argv: readonly string[] = process.argv): Promise<number> {
  const out = new Output();
  try {
    await buildProgram().parseAsync([...argv]);
    return Number(process.exitCode ?? EXIT.OK);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; a usage error was printed by outputError above.
      return error.exitCode === 0 ? EXIT.OK : EXIT.INVALID;
    }
    if (error instanceof CliError) {
      out.error(error.message);
      if (process.env.JIT_DEBUG === '1') out.stderr.write(`${error.stack}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    out.error(
      `unexpected error: ${oneLine(message)}${process.env.JIT_DEBUG === '1' ? '' : ' (JIT_DEBUG=1 shows the stack)'}`,
    );
    if (process.env.JIT_DEBUG === '1') out.stderr.write(`${(error as Error)?.stack ?? message}\n`);
    return EXIT.FAILURE;
  }
}
