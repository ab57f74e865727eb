/**
 * Virtual time: `sleep` registers a timer, and `run` moves the clock to the next timer only once every
 * pending promise has settled, so waits cost nothing and concurrent sleepers wake in time order.
 */
export class VirtualTime {
  now = 0;
  readonly #timers: { at: number; seq: number; wake: () => void }[] = [];
  #seq = 0;

  readonly clock = () => this.now;
  readonly sleep = (ms: number) =>
    new Promise<void>((wake) => {
      this.#timers.push({ at: this.now + Math.max(0, ms), seq: this.#seq++, wake });
    });

  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    work.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (settled) return work;
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#timers.shift();
      if (!next) throw new Error('deadlock: nothing to wake');
      this.now = Math.max(this.now, next.at);
      next.wake();
    }
  }
}
