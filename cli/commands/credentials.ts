import { type Command, InvalidArgumentError } from 'commander';
import { idArg } from '../args.ts';
import { HttpError, type JitClient } from '../client.ts';
import type { GlobalOptions } from '../context.ts';
import { contextOf } from '../context.ts';
import {
  cachePath,
  clampExpiration,
  isFresh,
  isProcessCredentials,
  type ProcessCredentials,
  readCached,
  writeCached,
} from '../credentials-cache.ts';
import { CliError, EXIT, exitCodeForStatus } from '../errors.ts';
import type { Output } from '../output.ts';
import type { RequestDocument } from '../types.ts';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The request, when it is an active credentials grant; otherwise a CliError (one line) saying why not, with
 * the exit code its status means: 2 denied/rejected, 3 ended (revoked, expired, cancelled, failed), 5 a
 * policy grant, 1 not granted yet.
 */
export async function activeCredentialsGrant(client: JitClient, id: string): Promise<RequestDocument> {
  const doc = await client.call<RequestDocument>('GET /requests/{id}', { id });
  return assertCredentialsGrant(doc);
}

/** Throws the one-line CliError of {@link activeCredentialsGrant} unless `doc` is a GRANTED credentials grant. */
export function assertCredentialsGrant(doc: RequestDocument): RequestDocument {
  if (doc.kind !== 'credentials') {
    throw new CliError(
      `request ${doc.id} is a ${doc.kind} grant: it has no credentials to hand out`,
      EXIT.INVALID,
    );
  }
  if (doc.status !== 'GRANTED') {
    const code = exitCodeForStatus(doc.status);
    const why =
      code === undefined
        ? `not granted yet (resume with: jit wait ${doc.id})`
        : 'no active grant, no credentials';
    throw new CliError(`request ${doc.id} is ${doc.status}: ${why}`, code ?? EXIT.FAILURE);
  }
  return doc;
}

/**
 * Collects the credentials of a GRANTED credentials grant (`GET /requests/{id}/credentials`, once) with
 * their Expiration clamped to the grant's expiresAt. A 410 (collected before, or discarded by a revoke
 * meanwhile) becomes one readable line.
 */
export async function collectCredentials(
  client: JitClient,
  doc: RequestDocument,
): Promise<ProcessCredentials> {
  if (doc.credentialsCollectedAt) throw collectedElsewhere(doc.id, doc.credentialsCollectedAt);
  let answer: unknown;
  try {
    answer = await client.call<unknown>('GET /requests/{id}/credentials', { id: doc.id });
  } catch (e) {
    if (e instanceof HttpError && e.status === 410) {
      throw new CliError(
        `the credentials of ${doc.id} are gone: ${e.message.replace(/^\w+: /, '')}`,
        EXIT.ENDED,
      );
    }
    throw e;
  }
  if (!isProcessCredentials(answer)) {
    throw new CliError(`the broker answered no credential_process document for ${doc.id}`);
  }
  return clampExpiration(answer, doc.expiresAt);
}

function collectedElsewhere(id: string, at: string): CliError {
  return new CliError(
    `the credentials of ${id} were already collected at ${at} (they are handed out once): use them where they were collected, or request access again`,
  );
}

/** Where {@link obtainCredentials} found the credentials. */
export interface Obtained {
  readonly credentials: ProcessCredentials;
  /** The cache file they are in. */
  readonly path: string;
  /** True when they came from the cache, without a call to the broker. */
  readonly fromCache: boolean;
}

/**
 * A request's credentials: from the cache while they are fresh (no network call at all), else collected
 * once from the broker, clamped to the grant's expiresAt and cached (0600). `client` is only made when the
 * broker is called.
 */
export async function obtainCredentials(
  client: () => JitClient,
  id: string,
  env: Env = process.env,
): Promise<Obtained> {
  const cached = readCached(id, env);
  if (cached && isFresh(cached)) return { credentials: cached, path: cachePath(id, env), fromCache: true };
  const doc = await activeCredentialsGrant(client(), id);
  if (cached) {
    throw new CliError(
      `the credentials of ${id} expired at ${cached.Expiration} (they are handed out once): request access again`,
      EXIT.ENDED,
    );
  }
  const credentials = await collectCredentials(client(), doc);
  return { credentials, path: writeCached(id, credentials, env), fromCache: false };
}

/** Quotes one word for a `credential_process` line (run by a shell, or split shell-like by the AWS CLI). */
function shellWord(word: string): string {
  return /^[\w./:=@,+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

/**
 * The `credential_process` command line for a request: `jit credential-process <id>`, with the global
 * options that told this run where and as whom to call (`--api`/`JIT_API_URL`, `--profile`, `--region`,
 * `--local --as`), since the AWS CLI will run it later without them. The saved config needs no repeating.
 */
export function credentialProcessLine(id: string, opts: GlobalOptions, env: Env = process.env): string {
  const api = opts.api ?? env.JIT_API_URL;
  const words = ['jit'];
  if (api) words.push('--api', api);
  if (opts.local) {
    words.push('--local');
    const principal = opts.as ?? env.JIT_PRINCIPAL;
    if (principal) words.push('--as', principal);
  } else {
    if (opts.profile) words.push('--profile', opts.profile);
    if (opts.region) words.push('--region', opts.region);
  }
  words.push('credential-process', id);
  return words.map(shellWord).join(' ');
}

const PROFILE_NAME = /^[\w.+@-]{1,64}$/;

/** Commander parser for `--print-profile <name>`: a profile name the AWS config file takes as is. */
export function profileNameArg(name: string): string {
  if (!PROFILE_NAME.test(name)) {
    throw new InvalidArgumentError('a profile name is 1-64 letters, digits and _.+@-');
  }
  return name;
}

/**
 * Prints the `~/.aws/config` block of a credentials grant: `[profile <name>]` with its `credential_process`
 * line. On stdout to paste, or on stderr with `--json` (stdout then stays one JSON document).
 */
export function printProfile(
  out: Output,
  name: string,
  grant: Pick<RequestDocument, 'id' | 'kind'>,
  opts: GlobalOptions,
  env: Env = process.env,
): void {
  if (!PROFILE_NAME.test(name))
    throw new CliError(`--print-profile ${name}: not a profile name`, EXIT.INVALID);
  if (grant.kind !== 'credentials') {
    throw new CliError(
      `--print-profile: ${grant.id} is a ${grant.kind} grant, it has no credentials`,
      EXIT.INVALID,
    );
  }
  const block = `[profile ${name}]\ncredential_process = ${credentialProcessLine(grant.id, opts, env)}\n`;
  if (out.json) out.stderr.write(block);
  else out.stdout.write(block);
}

/** `jit credentials <id>` and `jit credential-process <id>`. */
export function registerCredentials(program: Command): void {
  program
    .command('credentials')
    .description('collect the STS credentials of a credentials grant (once) into your cache, 0600')
    .argument('<id>', 'the request id', idArg)
    .addHelpText(
      'after',
      `
The broker hands a grant's credentials out once. They are kept, readable by you only, in
$XDG_CACHE_HOME/jit/<id>.json (default ~/.cache/jit/), as the credential_process document, with
Expiration no later than the grant's end. Prints that path; jit credential-process <id> answers from it.

Examples:
  $ jit credentials 01J9Z6Q4N8W0X2K3M5P7R9T1V3`,
    )
    .action(async (id: string, _flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      const got = await obtainCredentials(() => ctx.client, id, ctx.env);
      const { Expiration } = got.credentials;
      ctx.out.result(
        { requestId: id, path: got.path, expiration: Expiration, fromCache: got.fromCache },
        () => got.path,
      );
      ctx.out.progress(
        `credentials of ${id} ${got.fromCache ? 'already in' : 'saved to'} ${got.path} until ${Expiration}; for ~/.aws/config: credential_process = ${credentialProcessLine(id, ctx.opts, ctx.env)}`,
      );
    });

  program
    .command('credential-process')
    .description("print a grant's credentials for the AWS CLI and SDKs (credential_process in ~/.aws/config)")
    .argument('<id>', 'the request id', idArg)
    .addHelpText(
      'after',
      `
In ~/.aws/config (jit request --print-profile <name> prints this block):
  [profile jit-release]
  credential_process = jit credential-process <id>

Prints the credential_process Version 1 JSON on stdout, with Expiration no later than the grant's end.
Answers from the cache (jit credentials) without calling the broker while the credentials have more than
10 seconds left; collects them on first use. Never prompts. When the grant is not active, was revoked, or
its credentials were collected elsewhere, exits non-zero with one line on stderr. An early revoke does not
clear the cache: AWS refuses the cached credentials from then on (the broker's session deny).`,
    )
    .action(async (id: string, _flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      const { credentials } = await obtainCredentials(() => ctx.client, id, ctx.env);
      const { Version, AccessKeyId, SecretAccessKey, SessionToken, Expiration } = credentials;
      ctx.out.stdout.write(
        `${JSON.stringify({ Version, AccessKeyId, SecretAccessKey, SessionToken, Expiration })}\n`,
      );
    });
}
