/**
 * Client-side rate limiting for APIs with a per-key call rate, such as CloudTrail LookupEvents (2 calls per
 * second per account and region). Pacing before the call keeps a long review from being throttled at all;
 * the caller still retries throttling, since other processes share the same quota.
 */

/** How a {@link Pacer} spaces calls. */
export interface PacerOptions {
  /** Calls allowed in any window of `windowMs`, per key. @default 2 */
  readonly limit?: number;
  /**
   * The window, with a margin over the service's own second: calls that land right on its edge (network
   * jitter, clocks counting in whole milliseconds) would otherwise be refused now and then. @default 1050
   */
  readonly windowMs?: number;
  /** Milliseconds on a clock that never goes back. @default performance.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

interface KeyState {
  /** When the calls still inside the window started, oldest first (never more than `limit`). */
  readonly starts: number[];
  /** Settles when the last caller in line has been let through: the next one waits for it. */
  tail: Promise<void>;
}

/** Resolves after `ms` on the real clock. */
export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * At most `limit` calls start in any sliding window of `windowMs`, per key (`<account>:<region>`). Callers
 * of one key are let through one at a time in the order they asked, so concurrent callers queue instead of
 * bursting, and none is overtaken. Keys do not wait for one another.
 */
export class Pacer {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #keys = new Map<string, KeyState>();

  constructor(opts: PacerOptions = {}) {
    this.#limit = Math.max(1, Math.floor(opts.limit ?? 2));
    this.#windowMs = opts.windowMs ?? 1050;
    this.#now = opts.now ?? (() => performance.now());
    this.#sleep = opts.sleep ?? realSleep;
  }

  /** Resolves when the caller may make its call on `key` (now, or once the window has room). */
  acquire(key: string): Promise<void> {
    let state = this.#keys.get(key);
    if (!state) {
      state = { starts: [], tail: Promise.resolve() };
      this.#keys.set(key, state);
    }
    const s = state;
    const turn = s.tail.then(() => this.#admit(s));
    // A failing sleep must not stall the callers behind this one.
    s.tail = turn.catch(() => undefined);
    return turn;
  }

  async #admit(s: KeyState): Promise<void> {
    for (;;) {
      const now = this.#now();
      while (s.starts.length > 0 && now - (s.starts[0] ?? now) >= this.#windowMs) s.starts.shift();
      const oldest = s.starts[0];
      if (oldest === undefined || s.starts.length < this.#limit) {
        s.starts.push(now);
        return;
      }
      // Checked again after waking: a timer may fire a little early on the clock's scale.
      await this.#sleep(oldest + this.#windowMs - now);
    }
  }
}
