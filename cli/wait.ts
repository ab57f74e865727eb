import { HOLDS_GRANT, isTerminal, STATUSES, type Status } from '#core/lifecycle.ts';
import { HttpError, type JitClient, requestId } from './client.ts';
import { formatDuration } from './duration.ts';
import { CliError, EXIT, oneLine } from './errors.ts';
import { approvalsNeeded } from './format.ts';
import { Output } from './output.ts';
import type { RequestDocument } from './types.ts';

/** Where a wait stops by default: access is active, or the request can no longer get there. */
export const SETTLED: readonly Status[] = STATUSES.filter((s) => isTerminal(s) || HOLDS_GRANT.includes(s));

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this long (exit 4); undefined: wait until the request settles. */
  readonly timeoutMs?: number;
  /** Where to stop. @default a status in {@link SETTLED} */
  readonly until?: (status: string) => boolean;
  /** Between polls. @default 1 s against the local runtime, 3 s against AWS */
  readonly intervalMs?: number;
  /**
   * Approvals the request's rule needs (the `N` of `x/N`). @default from the request's vote events, else the
   * caller's rule (`GET /rules`), else unknown (`x` alone)
   */
  readonly requiredApprovals?: number;
  /** Where progress goes. @default a new Output on the process' streams */
  readonly out?: Output;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Polls `GET /requests/{id}` until `until(status)` holds and resolves with the request document. Writes one
 * stderr line per change (status or approvals) with the time waited, and a spinner in between on a
 * terminal only. A call that fails but may succeed later (network, 5xx) is reported once and retried.
 *
 * Rejects with CliError exit 4 once `timeoutMs` has passed, and exit 130 on Ctrl-C: the request goes on
 * either way, and the message says how to resume (`jit wait <id>`).
 */
export async function waitFor(
  client: JitClient,
  id: string,
  options: WaitOptions = {},
): Promise<RequestDocument> {
  requestId(id);
  const out = options.out ?? new Output();
  const until = options.until ?? ((s: string) => (SETTLED as readonly string[]).includes(s));
  const interval = options.intervalMs ?? (client.isLocal ? 1000 : 3000);
  const started = Date.now();
  const deadline = options.timeoutMs === undefined ? Infinity : started + options.timeoutMs;
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  process.once('SIGINT', onInterrupt);
  const spinner = new Spinner(out, started);
  let last = '';
  let lastError = '';
  let status = 'unknown';
  let required = options.requiredApprovals;
  let lookedUp = required !== undefined;
  try {
    for (;;) {
      let doc: RequestDocument | undefined;
      try {
        doc = await client.call<RequestDocument>('GET /requests/{id}', { id }, { signal: stop.signal });
      } catch (e) {
        if (stop.signal.aborted) break;
        if (!(e instanceof HttpError && e.retryable)) throw e;
        if (e.message !== lastError) {
          spinner.clear();
          out.progress(`${out.ce.yellow('retrying')} ${oneLine(e.message)}`);
          lastError = e.message;
        }
      }
      if (doc) {
        status = doc.status;
        lastError = '';
        required = requiredOf(doc) ?? required;
        if (!lookedUp && doc.status === 'PENDING_APPROVAL') {
          lookedUp = true;
          required ??= await approvalsNeeded(client, doc.ruleId);
        }
        const line = describeProgress(doc, required);
        if (line !== last) {
          spinner.clear();
          out.progress(`${out.ce.dim(`[${formatDuration((Date.now() - started) / 1000)}]`)} ${id}  ${line}`);
          last = line;
        }
        if (until(doc.status)) return doc;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new CliError(
          `timed out after ${formatDuration((Date.now() - started) / 1000)} with ${id} ${status}; it goes on: jit wait ${id}`,
          EXIT.TIMEOUT,
        );
      }
      spinner.show(status);
      await sleep(Math.min(interval, remaining), stop.signal);
      if (stop.signal.aborted) break;
    }
    throw new CliError(
      `stopped waiting; request ${id} (${status}) goes on. Resume with: jit wait ${id}`,
      EXIT.INTERRUPTED,
    );
  } finally {
    spinner.clear();
    process.removeListener('SIGINT', onInterrupt);
  }
}

/** `PENDING_APPROVAL  approvals 1/2`: the status and, while it matters, the votes against the quorum. */
export function describeProgress(doc: RequestDocument, required?: number): string {
  const votes = doc.approvals?.length ?? 0;
  const showVotes = doc.status === 'PENDING_APPROVAL' || votes > 0;
  const quorum = required === undefined ? `${votes}` : `${votes}/${required}`;
  return showVotes ? `${doc.status}  approvals ${quorum}` : doc.status;
}

/** The quorum the broker recorded on the last vote, if there was one. */
function requiredOf(doc: RequestDocument): number | undefined {
  const votes = (doc.events ?? []).filter((e) => typeof e.details?.required === 'number');
  return votes.at(-1)?.details?.required as number | undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A one-line spinner on stderr, drawn only when stderr is a terminal. */
class Spinner {
  #timer: NodeJS.Timeout | undefined;
  #frame = 0;
  #status = '';

  readonly out: Output;
  readonly started: number;
  constructor(out: Output, started: number) {
    this.out = out;
    this.started = started;
  }

  show(status: string): void {
    this.#status = status;
    if (!this.out.interactive || this.#timer) return;
    this.#timer = setInterval(() => this.#draw(), 100);
    this.#timer.unref();
    this.#draw();
  }

  #draw(): void {
    const frame = SPINNER[this.#frame++ % SPINNER.length];
    const waited = formatDuration((Date.now() - this.started) / 1000);
    this.out.stderr.write(`\r${this.out.ce.cyan(frame ?? '')} waiting ${waited} (${this.#status})\x1b[K`);
  }

  clear(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.out.stderr.write('\r\x1b[K');
  }
}
