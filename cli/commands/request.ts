import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { GRANT_KINDS } from '#core/grants/kinds.ts';
import { durationArg } from '../args.ts';
import { contextOf } from '../context.ts';
import { CliError, EXIT } from '../errors.ts';
import { reportSettled } from '../format.ts';
import type { EligibleRule, RulesAnswer, Submitted } from '../types.ts';
import { waitFor } from '../wait.ts';
import { printProfile, profileNameArg } from './credentials.ts';

/** The options of `jit request`. */
export interface RequestFlags {
  readonly target?: string;
  readonly action?: readonly string[];
  readonly resource?: readonly string[];
  /** Seconds. */
  readonly duration?: number;
  readonly reason?: string;
  readonly ticket?: string;
  readonly kind?: string;
  readonly rule?: string;
  readonly file?: string;
  readonly wait?: boolean;
  /** Seconds. */
  readonly timeout?: number;
}

const invalid = (message: string) => new CliError(message, EXIT.INVALID);

/** True for a pattern with a wildcard (a rule target such as `role/app-*` names no one role). */
const isPattern = (arn: string) => /[*?]/.test(arn);

/**
 * The body of `POST /requests` from the flags, over a `--file` body and the `--rule` the caller picked:
 * a rule gives its kind and all its actions and resources (narrowed by `--action`/`--resource`), and its
 * target when it names exactly one. Throws exit 5 naming what is missing. The broker checks the rest.
 */
export function buildRequestBody(
  flags: RequestFlags,
  fileBody: Readonly<Record<string, unknown>> = {},
  rule?: EligibleRule,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...fileBody };
  if (rule) {
    if (flags.kind && flags.kind !== rule.kind) {
      throw invalid(`--kind ${flags.kind}: rule ${rule.id} hands out ${rule.kind} grants`);
    }
    body.kind = rule.kind;
    body.permissions = [
      { actions: flags.action ?? rule.actions, resources: flags.resource ?? rule.resources },
    ];
    const concrete = rule.targets.filter((t) => !isPattern(t));
    if (!flags.target && concrete.length === 1 && rule.targets.length === 1) body.target = concrete[0];
    else if (!flags.target && !body.target) {
      throw invalid(`--target is required: rule ${rule.id} allows ${rule.targets.join(', ')}`);
    }
  } else if (flags.action || flags.resource) {
    if (!flags.action || !flags.resource)
      throw invalid('--action and --resource go together (or use --rule)');
    body.permissions = [{ actions: flags.action, resources: flags.resource }];
  }
  if (flags.target) body.target = flags.target;
  if (flags.kind) body.kind = flags.kind;
  if (flags.duration !== undefined) body.durationSeconds = flags.duration;
  if (flags.reason !== undefined) body.reason = flags.reason;
  if (flags.ticket !== undefined) body.ticket = flags.ticket;
  if (body.target === undefined) throw invalid('--target is required (or --rule, or --file)');
  if (body.permissions === undefined)
    throw invalid('--action and --resource are required (or --rule, or --file)');
  if (body.reason === undefined) throw invalid('--reason is required: approvers and the audit log read it');
  return body;
}

/** The JSON object in `--file` (`-`: stdin). */
function readBodyFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    throw invalid(`--file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(`--file ${path}: not valid JSON`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw invalid(`--file ${path}: not a JSON object`);
  return json as Record<string, unknown>;
}

/** `jit request`. */
export function registerRequest(program: Command): void {
  program
    .command('request')
    .description('ask for access: actions on resources, on a target role or user, for a while')
    .option('--target <arn>', 'the IAM role or user that gets the access')
    .option('--action <action...>', 'IAM actions (several, or repeat the option)')
    .option('--resource <arn...>', 'resource ARNs or "*" (several, or repeat the option)')
    .option('--duration <duration>', "how long: 900, 15m, 1h, 1h30m (default: the broker's)", durationArg)
    .option('--reason <text>', 'why, for the approvers and the audit log')
    .option('--ticket <id>', 'a ticket or incident id')
    .addOption(
      new Option('--kind <kind>', 'policy: inline policy; credentials: STS credentials').choices(GRANT_KINDS),
    )
    .option('--rule <id>', 'ask for everything a rule allows (jit rules); --action/--resource narrow it')
    .option('--file <path>', 'the request body as JSON ("-": stdin); the options override its fields')
    .option('--wait', 'wait until access is active or the request ends; exit code as below')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long (exit 4)', durationArg)
    .option(
      '--print-profile <name>',
      'with --wait, a credentials grant: print its ~/.aws/config profile',
      profileNameArg,
    )
    .addHelpText(
      'after',
      `
Prints the request id on stdout (the request as JSON with --json); with --wait, the final status.

Examples:
  $ jit request --target arn:aws:iam::111122223333:role/app-reader \\
      --action s3:GetObject --resource 'arn:aws:s3:::app-data/reports/*' \\
      --duration 30m --reason "INC-42: check the export" --ticket INC-42 --wait
  $ jit request --rule app-read --target arn:aws:iam::111122223333:role/app-reader --reason "debug" --wait
  $ jit request --file request.json --duration 1h`,
    )
    .action(async (flags: RequestFlags & { printProfile?: string }, command: Command) => {
      const ctx = contextOf(command);
      const { client, out } = ctx;
      const fileBody = flags.file ? readBodyFile(flags.file) : undefined;
      let rule: EligibleRule | undefined;
      if (flags.rule) {
        const { rules } = await client.call<RulesAnswer>('GET /rules');
        rule = rules.find((r) => r.id === flags.rule);
        if (!rule) {
          const ids = rules.map((r) => r.id).join(', ') || 'none';
          throw invalid(`--rule ${flags.rule} is not one of your rules (yours: ${ids}); see jit rules`);
        }
      }
      if (flags.timeout !== undefined && !flags.wait) throw invalid('--timeout goes with --wait');
      if (flags.printProfile !== undefined && !flags.wait) throw invalid('--print-profile goes with --wait');
      const body = buildRequestBody(flags, fileBody, rule);
      const submitted = await client.call<Submitted>('POST /requests', {}, { body });
      if (!flags.wait) {
        out.result(submitted, () => submitted.requestId);
        out.progress(
          `requested ${submitted.requestId} (${submitted.status}); follow it with: jit wait ${submitted.requestId}`,
        );
        return;
      }
      out.progress(`requested ${submitted.requestId}; waiting (Ctrl-C stops waiting, not the request)`);
      const required = rule ? (rule.approval === 'auto' ? 0 : rule.approval.minApprovals) : undefined;
      const doc = await waitFor(client, submitted.requestId, {
        out,
        ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout * 1000 }),
        ...(required === undefined ? {} : { requiredApprovals: required }),
      });
      reportSettled(out, doc);
      if (flags.printProfile && doc.status === 'GRANTED')
        printProfile(out, flags.printProfile, doc, ctx.opts, ctx.env);
    });
}
