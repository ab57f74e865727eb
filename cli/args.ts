import { InvalidArgumentError } from 'commander';
import { requestId } from './client.ts';
import { parseDuration } from './duration.ts';

/** Commander parser for a duration option: seconds. */
export function durationArg(value: string): number {
  try {
    return parseDuration(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** Commander parser for a request id argument. */
export function idArg(value: string): string {
  try {
    return requestId(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** Commander parser for a whole number from `min` to `max`. */
export function intArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}
