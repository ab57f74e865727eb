import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { describeCheck, sinceArg } from '../../../../cli/commands/audit.ts';

describe('jit audit verify', () => {
  it('reads --since in days, hours or minutes', () => {
    // Act
    const values = ['30d', '12h', '90m'].map(sinceArg);
    // Assess
    expect(values).toEqual([30 * 86_400_000, 12 * 3_600_000, 90 * 60_000]);
  });

  it('refuses a --since that is not a positive age', () => {
    // Act
    const bad = ['0d', '30', '1w', '-1d', ''].map((v) => () => sinceArg(v));
    // Assess
    for (const parse of bad) expect(parse).toThrow(InvalidArgumentError);
  });

  it('prints the first event that differs', () => {
    // Act
    const line = describeCheck({
      ok: false,
      requestId: 'req-1',
      seq: 3,
      reason: 'differs from the archived event (edited, re-hashed or reordered)',
      verifiedAgainst: 'archive',
    });
    // Assess
    expect(line).toBe(
      'req-1  DOES NOT VERIFY at event 3: differs from the archived event (edited, re-hashed or reordered)',
    );
  });
});
