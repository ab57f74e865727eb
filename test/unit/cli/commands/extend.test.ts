import { describe, expect, it } from 'vitest';
import { buildExtendBody } from '../../../../cli/commands/extend.ts';
import { CliError, EXIT } from '../../../../cli/errors.ts';

describe('buildExtendBody', () => {
  it('builds the extension body from the flags', () => {
    // Act
    const body = buildExtendBody({
      by: 1800,
      reasonCode: 'work-not-finished',
      reason: 'export still running',
    });
    // Assess
    expect(body).toEqual({
      durationSeconds: 1800,
      reasonCode: 'work-not-finished',
      reason: 'export still running',
    });
  });

  it('refuses with exit 5 when --by, --reason-code or --reason is missing', () => {
    // Prepare
    const full = { by: 60, reasonCode: 'other', reason: 'why' };
    // Act
    const missing = [
      { ...full, by: undefined },
      { ...full, reasonCode: undefined },
      { ...full, reason: undefined },
    ].map((flags) => {
      try {
        buildExtendBody(flags);
        return undefined;
      } catch (error) {
        return error;
      }
    });
    // Assess
    for (const error of missing) {
      expect(error).toBeInstanceOf(CliError);
      expect((error as CliError).exitCode).toBe(EXIT.INVALID);
    }
    expect(missing.map((e) => (e as Error).message.split(' ')[0])).toEqual([
      '--by',
      '--reason-code',
      '--reason',
    ]);
  });
});
