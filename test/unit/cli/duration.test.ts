import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../cli/duration.ts';

describe('parseDuration', () => {
  it.each([
    ['900', 900],
    ['15m', 900],
    ['1h', 3600],
    ['1h30m', 5400],
    ['90s', 90],
    ['1h0m5s', 3605],
    [' 2H ', 7200],
  ])('reads %s as %i seconds', (text, seconds) => {
    // Act
    const parsed = parseDuration(text);
    // Assess
    expect(parsed).toBe(seconds);
  });

  it.each(['', '0', '0m', '-5', '1.5h', '15x', 'm', '30m1h', '1h 30m', 'h1', '8d', '999999'])(
    'refuses %j',
    (text) => {
      // Act
      const parse = () => parseDuration(text);
      // Assess
      expect(parse).toThrow(RangeError);
    },
  );

  it('names the examples in its error', () => {
    // Act
    const parse = () => parseDuration('soon');
    // Assess
    expect(parse).toThrow('"soon" is not a duration (examples: 900, 15m, 1h, 1h30m)');
  });
});

describe('formatDuration', () => {
  it.each([
    [5400, '1h30m'],
    [900, '15m'],
    [45, '45s'],
    [3605, '1h5s'],
    [0, '0s'],
  ])('writes %i seconds as %s, which parses back', (seconds, text) => {
    // Act
    const written = formatDuration(seconds);
    // Assess
    expect(written).toBe(text);
    if (seconds > 0) expect(parseDuration(written)).toBe(seconds);
  });
});
