import { describe, expect, it } from 'vitest';
import { Pacer } from '#adapters/pacer.ts';
import { VirtualTime } from '../../support/virtual-time.ts';

/** The first window of `windowMs` holding more than `limit` of the times, or undefined. */
function overfullWindow(times: readonly number[], limit: number, windowMs = 1000): number[] | undefined {
  const sorted = [...times].sort((a, b) => a - b);
  for (let i = 0; i + limit < sorted.length; i += 1) {
    const first = sorted[i] ?? 0;
    const last = sorted[i + limit] ?? 0;
    if (last - first < windowMs) return sorted.slice(i, i + limit + 1);
  }
  return undefined;
}

describe('Pacer', () => {
  it("keeps a margin over the service's second by default, so calls never land on its edge", async () => {
    // Prepare
    const time = new VirtualTime();
    const pacer = new Pacer({ now: time.clock, sleep: time.sleep });
    const admitted: number[] = [];
    // Act
    await time.run(
      Promise.all(Array.from({ length: 4 }, () => pacer.acquire('k').then(() => admitted.push(time.now)))),
    );
    // Assess: the third call waits past the 1,000 ms edge
    expect(admitted).toEqual([0, 0, 1050, 1050]);
  });

  it('lets 10 concurrent callers of one key through 2 per second, in the order they asked', async () => {
    // Prepare
    const time = new VirtualTime();
    const pacer = new Pacer({ windowMs: 1000, now: time.clock, sleep: time.sleep });
    const admitted: { caller: number; at: number }[] = [];
    // Act
    await time.run(
      Promise.all(
        Array.from({ length: 10 }, (_, caller) =>
          pacer.acquire('111122223333:eu-west-1').then(() => admitted.push({ caller, at: time.now })),
        ),
      ),
    );
    // Assess
    expect(admitted.map((a) => a.caller)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(admitted.map((a) => a.at)).toEqual([0, 0, 1000, 1000, 2000, 2000, 3000, 3000, 4000, 4000]);
    expect(
      overfullWindow(
        admitted.map((a) => a.at),
        2,
      ),
    ).toBeUndefined();
  });

  it('lets no late caller overtake those already waiting', async () => {
    // Prepare
    const time = new VirtualTime();
    const pacer = new Pacer({ windowMs: 1000, now: time.clock, sleep: time.sleep });
    const admitted: number[] = [];
    const ask = (caller: number) => pacer.acquire('k').then(() => admitted.push(caller));
    const early = [0, 1, 2, 3].map(ask);
    await new Promise((resolve) => setImmediate(resolve));
    // Act: the window has room again, but callers 2 and 3 have not been woken yet.
    time.now = 1000;
    const late = ask(4);
    await time.run(Promise.all([...early, late]));
    // Assess
    expect(admitted).toEqual([0, 1, 2, 3, 4]);
    expect(time.now).toBe(2000);
  });

  it('slides the window: a call waits for the oldest of the last two to be a second old', async () => {
    // Prepare
    const time = new VirtualTime();
    const pacer = new Pacer({ windowMs: 1000, now: time.clock, sleep: time.sleep });
    const key = '111122223333:eu-west-1';
    const admitted: number[] = [];
    const acquireAt = async (at: number) => {
      time.now = Math.max(time.now, at);
      await pacer.acquire(key);
      admitted.push(time.now);
    };
    // Act
    await time.run(acquireAt(0));
    await time.run(acquireAt(900));
    await time.run(acquireAt(950));
    await time.run(acquireAt(1000));
    await time.run(acquireAt(3500));
    // Assess: 950 waits for 0 to leave (1000); 1000 waits for 900 to leave (1900); 3500 finds room.
    expect(admitted).toEqual([0, 900, 1000, 1900, 3500]);
  });

  it('keeps keys apart: another account or region does not wait', async () => {
    // Prepare
    const time = new VirtualTime();
    const pacer = new Pacer({ windowMs: 1000, now: time.clock, sleep: time.sleep });
    const admitted: Record<string, number[]> = {};
    const keys = ['111122223333:eu-west-1', '111122223333:us-east-1', '222233334444:eu-west-1'];
    // Act
    await time.run(
      Promise.all(
        keys.flatMap((key) =>
          Array.from({ length: 3 }, () =>
            pacer.acquire(key).then(() => {
              admitted[key] = [...(admitted[key] ?? []), time.now];
            }),
          ),
        ),
      ),
    );
    // Assess
    for (const key of keys) expect(admitted[key]).toEqual([0, 0, 1000]);
  });

  it('honours another limit and window', async () => {
    // Prepare
    const time = new VirtualTime();
    const pacer = new Pacer({ limit: 5, windowMs: 200, now: time.clock, sleep: time.sleep });
    const admitted: number[] = [];
    // Act
    await time.run(
      Promise.all(Array.from({ length: 12 }, () => pacer.acquire('k').then(() => admitted.push(time.now)))),
    );
    // Assess
    expect(admitted).toEqual([0, 0, 0, 0, 0, 200, 200, 200, 200, 200, 400, 400]);
    expect(overfullWindow(admitted, 5, 200)).toBeUndefined();
  });

  it('keeps the line moving when a sleep fails', async () => {
    // Prepare
    const time = new VirtualTime();
    let failNext = true;
    const sleep = (ms: number) => {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('timer broke'));
      }
      return time.sleep(ms);
    };
    const pacer = new Pacer({ windowMs: 1000, now: time.clock, sleep });
    // Act
    const outcomes = await time.run(
      Promise.allSettled(Array.from({ length: 4 }, () => pacer.acquire('k').then(() => time.now))),
    );
    // Assess
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[3]).toEqual({ status: 'fulfilled', value: 1000 });
  });

  it('paces on the real clock by default', async () => {
    // Prepare
    const pacer = new Pacer({ limit: 1, windowMs: 30 });
    const started = performance.now();
    // Act
    await Promise.all([pacer.acquire('k'), pacer.acquire('k'), pacer.acquire('k')]);
    // Assess
    expect(performance.now() - started).toBeGreaterThanOrEqual(58);
  });
});
