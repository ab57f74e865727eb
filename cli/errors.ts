/**
 * The exit codes of `jit`, documented in `jit --help` and the README. Scripts branch on them, so they never
 * change meaning.
 */
export const EXIT = {
  /** Granted (access is active) or the command did what it was asked. */
  OK: 0,
  /** Anything else: network, server error, not found, conflict. */
  FAILURE: 1,
  /** Denied by an approver, or rejected by the workflow. */
  DENIED: 2,
  /** Ended without access: approval window expired, revoked, cancelled, grant failed. */
  ENDED: 3,
  /** `--timeout` passed while waiting; the request goes on. */
  TIMEOUT: 4,
  /** Invalid request or usage: the field at fault is printed. */
  INVALID: 5,
  /** Not authorized: unauthenticated (401) or not allowed (403). */
  UNAUTHORIZED: 6,
  /** Ctrl-C while waiting; the request goes on (`jit wait <id>` resumes). */
  INTERRUPTED: 130,
} as const;

/** One of the documented exit codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit-code table as `jit --help` and the README print it. */
export const EXIT_CODES_HELP = `Exit codes:
  0    granted (access active) or done
  1    anything else (network, server error, not found, conflict)
  2    denied or rejected
  3    approval expired, revoked, cancelled or grant failed
  4    wait timed out (--timeout); the request goes on
  5    invalid request or usage (the field at fault is printed)
  6    not authorized (401/403)
  130  interrupted (Ctrl-C) while waiting; the request goes on, resume with: jit wait <id>`;

/**
 * An error `jit` reports as one line on stderr and exits with `exitCode`. Anything else that escapes a
 * command is a bug or an unexpected failure: reported as one line too, with exit code 1.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = EXIT.FAILURE) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** The exit code a request's status means once a wait stops on it (undefined: not a settled status). */
export function exitCodeForStatus(status: string): ExitCode | undefined {
  switch (status) {
    case 'GRANTED':
      return EXIT.OK;
    case 'DENIED':
    case 'REJECTED':
      return EXIT.DENIED;
    case 'APPROVAL_EXPIRED':
    case 'REVOKED':
    case 'CANCELLED':
    case 'GRANT_FAILED':
      return EXIT.ENDED;
    case 'REVOKE_FAILED':
      return EXIT.FAILURE;
    default:
      return undefined;
  }
}

/** The error body of the HTTP contract: `{"error":{"code","message","details?"}}`. */
interface ContractError {
  readonly error?: {
    readonly code?: string;
    readonly message?: string;
    readonly details?: readonly { readonly field?: string; readonly message?: string }[];
  };
  /** API Gateway's own refusals (bad signature, missing token) answer `{"message": …}`. */
  readonly message?: string;
}

/**
 * The CLI error for an HTTP error answer: 400 (and 413/422) → 5 with the first field at fault, 401/403 → 6,
 * anything else (404, 409, 410, 5xx) → 1, each with the broker's code and message on one line.
 */
export function errorFromResponse(status: number, body: unknown): CliError {
  const parsed = (body && typeof body === 'object' ? body : {}) as ContractError;
  const code = parsed.error?.code ?? `HTTP ${status}`;
  const first = parsed.error?.details?.[0];
  const message =
    first?.field && first.message
      ? `${first.field} ${first.message}`
      : (parsed.error?.message ?? parsed.message ?? (typeof body === 'string' && body ? body : 'no details'));
  const line = `${code}: ${oneLine(message)}`;
  if (status === 400 || status === 413 || status === 422) return new CliError(line, EXIT.INVALID);
  if (status === 401 || status === 403) return new CliError(line, EXIT.UNAUTHORIZED);
  return new CliError(line, EXIT.FAILURE);
}

/** Collapses whitespace so an error is always exactly one line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 1000);
}
