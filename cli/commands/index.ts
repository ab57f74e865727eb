import type { Command } from 'commander';
import { registerAudit } from './audit.ts';
import { registerBreakGlass } from './break-glass.ts';
import { registerCancel } from './cancel.ts';
import { registerCompletion } from './completion.ts';
import { registerConfigure } from './configure.ts';
import { registerCredentials } from './credentials.ts';
import { registerApprove, registerDeny } from './decide.ts';
import { registerExec } from './exec.ts';
import { registerExtend } from './extend.ts';
import { registerList } from './list.ts';
import { registerPending } from './pending.ts';
import { registerRequest } from './request.ts';
import { registerReview } from './review.ts';
import { registerRevoke } from './revoke.ts';
import { registerRules } from './rules.ts';
import { registerStatus } from './status.ts';
import { registerWait } from './wait.ts';

/**
 * Every `jit` command, in the order `jit --help` lists them. A command is a module under `cli/commands/`
 * exporting `registerX(program)`, which adds it with `program.command(...)` (so it inherits the program's
 * error handling) and reads the global options with `contextOf(command)`.
 */
export const COMMANDS: readonly ((program: Command) => void)[] = [
  registerRules,
  registerRequest,
  registerBreakGlass,
  registerWait,
  registerCredentials,
  registerExec,
  registerStatus,
  registerList,
  registerCancel,
  registerRevoke,
  registerExtend,
  registerPending,
  registerApprove,
  registerDeny,
  registerReview,
  registerAudit,
  registerConfigure,
  registerCompletion,
];
