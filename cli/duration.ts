/** The largest duration `jit` accepts: a week, well past any rule's maximum. */
const MAX_SECONDS = 7 * 24 * 3600;

const UNITS = { h: 3600, m: 60, s: 1 } as const;

/**
 * Seconds in a duration written as a whole number of seconds (`900`) or as hours, minutes and seconds in
 * that order (`15m`, `1h`, `1h30m`, `90s`). Throws a one-line error on anything else, zero included.
 */
export function parseDuration(text: string): number {
  const value = text.trim().toLowerCase();
  let seconds: number | undefined;
  if (/^\d+$/.test(value)) seconds = Number(value);
  else {
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value);
    if (m && value !== '') {
      const [, h = '0', min = '0', s = '0'] = m;
      seconds = Number(h) * UNITS.h + Number(min) * UNITS.m + Number(s) * UNITS.s;
    }
  }
  if (seconds === undefined) {
    throw new RangeError(`"${text}" is not a duration (examples: 900, 15m, 1h, 1h30m)`);
  }
  if (seconds <= 0) throw new RangeError(`"${text}" is not a positive duration`);
  if (seconds > MAX_SECONDS) throw new RangeError(`"${text}" is longer than a week`);
  return seconds;
}

/** A duration in seconds as `1h30m`, `15m`, `45s` (the inverse of parseDuration). */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', rest || s === 0 ? `${rest}s` : ''];
  return parts.join('');
}
