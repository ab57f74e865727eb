import { describe, expect, it } from 'vitest';
import { credentialsEnv, exitCodeOf } from '../../../../cli/commands/exec.ts';

describe('jit exec', () => {
  it('gives the command the credentials and takes away the profile that would hide them', () => {
    // Act
    const env = credentialsEnv(
      { PATH: '/bin', AWS_PROFILE: 'admin', AWS_DEFAULT_PROFILE: 'admin', AWS_ACCESS_KEY_ID: 'old' },
      {
        Version: 1,
        AccessKeyId: 'ASIANEW',
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        Expiration: '2030-01-01T00:00:00.000Z',
      },
    );
    // Assess
    expect(env).toEqual({
      PATH: '/bin',
      AWS_ACCESS_KEY_ID: 'ASIANEW',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
      AWS_CREDENTIAL_EXPIRATION: '2030-01-01T00:00:00.000Z',
    });
  });

  it('returns the command’s exit code, or 128 + the signal that ended it', () => {
    // Act + Assess
    expect(exitCodeOf(7, null)).toBe(7);
    expect(exitCodeOf(0, null)).toBe(0);
    expect(exitCodeOf(null, 'SIGTERM')).toBe(143);
    expect(exitCodeOf(null, 'SIGINT')).toBe(130);
    expect(exitCodeOf(null, 'SIGKILL')).toBe(137);
  });
});
