import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { type Command, Option } from 'commander';
import { GRANT_KINDS } from '#core/grants/kinds.ts';
import type { RevokeResult } from '#core/model.ts';
import { durationArg, idArg } from '../args.ts';
import { HttpError, type JitClient } from '../client.ts';
import { contextOf } from '../context.ts';
import type { ProcessCredentials } from '../credentials-cache.ts';
import { forgetCached } from '../credentials-cache.ts';
import { CliError, EXIT, exitCodeForStatus, oneLine } from '../errors.ts';
import type { Output } from '../output.ts';
import type { RequestDocument, RulesAnswer, Submitted } from '../types.ts';
import { waitFor } from '../wait.ts';
import { assertCredentialsGrant, collectCredentials, obtainCredentials } from './credentials.ts';
import { buildRequestBody, type RequestFlags } from './request.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** The options of `jit exec`. */
export interface ExecFlags extends Omit<RequestFlags, 'file' | 'wait'> {
  readonly reuse?: string;
  readonly keep?: boolean;
}

/** The reason `jit exec` gives the broker when it revokes the grant after the command. */
export const EXEC_REVOKE_REASON = 'command finished';

/** The signals `jit exec` passes on to the command (and then revokes, whatever the command does with them). */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type Forwarded = (typeof FORWARDED)[number];

const invalid = (message: string) => new CliError(message, EXIT.INVALID);

/**
 * The command's environment for a credentials grant: the STS credentials in the variables every AWS SDK
 * and the AWS CLI read first, and without `AWS_PROFILE`/`AWS_DEFAULT_PROFILE`, which would make the
 * JavaScript SDK skip them for the profile's own credentials.
 */
export function credentialsEnv(
  base: Env,
  credentials: ProcessCredentials,
): Record<string, string | undefined> {
  const {
    AWS_PROFILE: _profile,
    AWS_DEFAULT_PROFILE: _defaultProfile,
    AWS_SECURITY_TOKEN: _legacyToken,
    ...rest
  } = base;
  return {
    ...rest,
    AWS_ACCESS_KEY_ID: credentials.AccessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.SecretAccessKey,
    AWS_SESSION_TOKEN: credentials.SessionToken,
    AWS_CREDENTIAL_EXPIRATION: credentials.Expiration,
  };
}

/** The exit code of a command that ended with `code` or was killed by `signal` (128 + its number, as shells do). */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

/** A rule of the caller's by id, or exit 5 naming the caller's rules. */
async function ruleOf(client: JitClient, id: string) {
  const { rules } = await client.call<RulesAnswer>('GET /rules');
  const rule = rules.find((r) => r.id === id);
  if (!rule) {
    const ids = rules.map((r) => r.id).join(', ') || 'none';
    throw invalid(`--rule ${id} is not one of your rules (yours: ${ids}); see jit rules`);
  }
  return rule;
}

/** Submits the request of the flags and waits until it settles; on a timeout or Ctrl-C, withdraws it. */
async function requestAndWait(client: JitClient, flags: ExecFlags, out: Output): Promise<RequestDocument> {
  const rule = flags.rule ? await ruleOf(client, flags.rule) : undefined;
  const body = buildRequestBody(flags, {}, rule);
  const submitted = await client.call<Submitted>('POST /requests', {}, { body });
  const id = submitted.requestId;
  out.progress(`requested ${id}; waiting for access (Ctrl-C withdraws the request)`);
  const required = rule ? (rule.approval === 'auto' ? 0 : rule.approval.minApprovals) : undefined;
  try {
    return await waitFor(client, id, {
      out,
      ...(client.isLocal ? { intervalMs: 250 } : {}),
      ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout * 1000 }),
      ...(required === undefined ? {} : { requiredApprovals: required }),
    });
  } catch (e) {
    if (e instanceof CliError && (e.exitCode === EXIT.TIMEOUT || e.exitCode === EXIT.INTERRUPTED)) {
      const how = await withdraw(client, id);
      const why = e.exitCode === EXIT.TIMEOUT ? 'timed out waiting' : 'stopped waiting';
      throw new CliError(`${why}; request ${id} ${how}`, e.exitCode);
    }
    throw e;
  }
}

/** Cancels a request the command will never use, or revokes it if it was granted meanwhile. */
async function withdraw(client: JitClient, id: string): Promise<string> {
  try {
    await client.call('POST /requests/{id}/cancel', { id }, { body: {} });
    return 'cancelled';
  } catch {
    try {
      await client.call(
        'POST /requests/{id}/revoke',
        { id },
        { body: { reason: 'jit exec stopped waiting' } },
      );
      return 'revoked';
    } catch (e) {
      return `goes on (${oneLine((e as Error).message)}): jit cancel ${id} or jit revoke ${id}`;
    }
  }
}

/**
 * Revokes the grant with the reason {@link EXEC_REVOKE_REASON}, trying again twice when the broker may answer
 * later. Never throws: the command's exit code is what `jit exec` returns; a failure is one line on stderr
 * (the grant still ends at its expiry).
 */
async function revokeAfter(client: JitClient, id: string, out: Output): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await client.call<RevokeResult>(
        'POST /requests/{id}/revoke',
        { id },
        { body: { reason: EXEC_REVOKE_REASON } },
      );
      out.progress(`revoked ${id}${answer.alreadyRevoked ? ' (it was already revoked)' : ''}`);
      return;
    } catch (e) {
      if (e instanceof HttpError && e.status === 409) {
        out.progress(`${id} had already ended: ${oneLine(e.message)}`);
        return;
      }
      if (e instanceof HttpError && e.retryable && attempt < 3) {
        await new Promise((r) => setTimeout(r, 500 * attempt));
        continue;
      }
      out.error(
        `could not revoke ${id}: ${oneLine((e as Error).message)}; it ends at its expiry, or run: jit revoke ${id}`,
      );
      return;
    }
  }
}

/** The active grant `--reuse` names, or exit by its status. */
async function reusedGrant(client: JitClient, id: string): Promise<RequestDocument> {
  const doc = await client.call<RequestDocument>('GET /requests/{id}', { id });
  if (doc.status !== 'GRANTED') {
    throw new CliError(
      `--reuse ${id}: request is ${doc.status}, not an active grant`,
      exitCodeForStatus(doc.status) ?? EXIT.FAILURE,
    );
  }
  return doc;
}

/**
 * Runs the command with `stdio` inherited and resolves with its exit code. Signals that reach `jit` while
 * it runs are passed on to it; one that came before it could start stops it from starting (128 + signal).
 */
function runCommand(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  signals: SignalRelay,
  out: Output,
): Promise<number> {
  if (signals.received) return Promise.resolve(exitCodeOf(null, signals.received));
  const [file, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: 'inherit', env });
    signals.target = (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      out.error(`cannot run ${file}: ${e.code ?? e.message}`);
      resolve(e.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => resolve(exitCodeOf(code, signal)));
  }).finally(() => {
    signals.target = undefined;
  }) as Promise<number>;
}

/**
 * Holds `jit` up against SIGINT/SIGTERM/SIGHUP while a grant is held: each is passed to the command when
 * one runs, and otherwise only remembered, so the revoke that follows always gets to run.
 */
class SignalRelay {
  received: Forwarded | undefined;
  target: ((signal: Forwarded) => void) | undefined;
  readonly #handlers = new Map<Forwarded, () => void>();

  constructor() {
    for (const signal of FORWARDED) {
      const handler = () => {
        this.received ??= signal;
        this.target?.(signal);
      };
      this.#handlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  dispose(): void {
    for (const [signal, handler] of this.#handlers) process.removeListener(signal, handler);
  }
}

/** `jit exec`. */
export function registerExec(program: Command): void {
  program
    .command('exec')
    .description(
      'run a command with access: request (or --reuse) a grant, wait, run it, revoke when it exits',
    )
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--target <arn>', 'the IAM role or user that gets the access')
    .option('--action <action...>', 'IAM actions (several, or repeat the option)')
    .option('--resource <arn...>', 'resource ARNs or "*" (several, or repeat the option)')
    .option(
      '--duration <duration>',
      "the grant's upper bound: 900, 15m, 1h (default: the broker's)",
      durationArg,
    )
    .option('--reason <text>', 'why, for the approvers and the audit log')
    .option('--ticket <id>', 'a ticket or incident id')
    .addOption(
      new Option('--kind <kind>', 'policy: inline policy; credentials: STS credentials').choices(GRANT_KINDS),
    )
    .option('--rule <id>', 'ask for everything a rule allows (jit rules); --action/--resource narrow it')
    .option(
      '--timeout <duration>',
      'stop waiting for access after this long (exit 4; the request is withdrawn)',
      durationArg,
    )
    .option('--reuse <id>', 'use your active grant <id> instead of requesting one', idArg)
    .option('--keep', 'with --reuse: leave the grant active after the command')
    .addHelpText(
      'after',
      `
Requests access (or takes the active grant of --reuse), waits until it is GRANTED, runs the command, and
revokes the grant ("command finished") as soon as the command exits, however it exits: with an error, by
a signal, or on Ctrl-C (SIGINT, SIGTERM and SIGHUP are passed on to the command, then the grant is
revoked). A --reuse'd grant is revoked too, unless --keep. --duration stays the upper bound: the grant
ends at its expiry even if the command is still running, or if jit itself is killed with SIGKILL.

A credentials grant runs the command with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
AWS_CREDENTIAL_EXPIRATION set (and AWS_PROFILE unset, which would hide them from the SDKs); a policy grant
runs it as is, the access being on the target itself. JIT_REQUEST_ID holds the request id either way.
jit exec writes only to stderr; the command keeps stdin, stdout and stderr.

Exit code: the command's own (128 + the signal's number when a signal ended it: 130 Ctrl-C, 143 SIGTERM);
before the command runs, the codes below (2 denied, 3 ended, 4 timed out, ...).

Examples:
  $ jit exec --rule release --target arn:aws:iam::111122223333:role/jit-release-prod \\
      --duration 1h --reason "ship 42" -- aws s3 cp app.zip s3://release-artifacts/app/
  $ jit exec --reuse 01J9Z6Q4N8W0X2K3M5P7R9T1V3 --keep -- ./deploy.sh`,
    )
    .action(async (argv: string[], flags: ExecFlags, command: Command) => {
      const ctx = contextOf(command);
      const { out } = ctx;
      if (flags.keep && !flags.reuse)
        throw invalid('--keep goes with --reuse (a grant jit exec asks for ends with the command)');
      const requestFlags = [
        'target',
        'action',
        'resource',
        'duration',
        'reason',
        'ticket',
        'kind',
        'rule',
        'timeout',
      ] as const;
      const extra = requestFlags.find((f) => flags[f] !== undefined);
      if (flags.reuse && extra) throw invalid(`--reuse takes the grant as it is: drop --${extra}`);
      const client = ctx.client;
      const doc = flags.reuse
        ? await reusedGrant(client, flags.reuse)
        : await requestAndWait(client, flags, out);
      const id = doc.id;
      if (doc.status !== 'GRANTED') {
        const last = doc.events?.at(-1);
        const why = last?.details?.reason ?? last?.details?.error;
        throw new CliError(
          `request ${id} ended ${doc.status}${typeof why === 'string' ? `: ${why}` : ''}; the command did not run`,
          exitCodeForStatus(doc.status) ?? EXIT.FAILURE,
        );
      }
      const signals = new SignalRelay();
      let code: number;
      try {
        let env: Record<string, string | undefined> = { ...process.env, JIT_REQUEST_ID: id };
        if (doc.kind === 'credentials') {
          // A reused grant may have been collected by jit credentials (cache); a new one is collected here
          // and kept in memory only, as it ends with the command.
          const credentials = flags.reuse
            ? (await obtainCredentials(() => client, id, ctx.env)).credentials
            : await collectCredentials(client, assertCredentialsGrant(doc));
          env = credentialsEnv(env, credentials);
        }
        out.progress(`${id} GRANTED until ${doc.expiresAt ?? '?'}; running ${argv.join(' ')}`);
        code = await runCommand(argv, env, signals, out);
      } catch (e) {
        code = e instanceof CliError ? e.exitCode : EXIT.FAILURE;
        out.error((e as Error).message);
      } finally {
        if (flags.reuse && flags.keep) out.progress(`${id} stays GRANTED (--keep); jit revoke ${id} ends it`);
        else {
          await revokeAfter(client, id, out);
          forgetCached(id, ctx.env);
        }
        signals.dispose();
      }
      process.exitCode = code;
    });
}
