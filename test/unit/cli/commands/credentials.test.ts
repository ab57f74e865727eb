import { describe, expect, it } from 'vitest';
import {
  assertCredentialsGrant,
  credentialProcessLine,
  printProfile,
} from '../../../../cli/commands/credentials.ts';
import { EXIT } from '../../../../cli/errors.ts';
import { Output } from '../../../../cli/output.ts';
import type { RequestDocument } from '../../../../cli/types.ts';

const doc = (fields: Partial<RequestDocument>) =>
  ({ id: 'req-1', kind: 'credentials', ...fields }) as RequestDocument;

function captured(json = false) {
  const text = { stdout: '', stderr: '' };
  const out = new Output({
    json,
    stdout: { write: (t: string) => (text.stdout += t) },
    stderr: { write: (t: string) => (text.stderr += t) },
    env: {},
  });
  return { out, text };
}

describe('credential_process line and profile block', () => {
  it('carries the options that said where and as whom, quoted for a shell', () => {
    // Act
    const local = credentialProcessLine('req-1', { local: true, as: "arn:aws:iam::1:user/o'neil x" }, {});
    const remote = credentialProcessLine(
      'req-1',
      { profile: 'dev', region: 'eu-west-1' },
      {
        JIT_API_URL: 'https://a.execute-api.eu-west-1.amazonaws.com/v1',
      },
    );
    const saved = credentialProcessLine('req-1', {}, {});
    // Assess
    expect(local).toBe(`jit --local --as 'arn:aws:iam::1:user/o'"'"'neil x' credential-process req-1`);
    expect(remote).toBe(
      'jit --api https://a.execute-api.eu-west-1.amazonaws.com/v1 --profile dev --region eu-west-1 credential-process req-1',
    );
    expect(saved).toBe('jit credential-process req-1');
  });

  it('prints the profile block on stdout, or on stderr with --json', () => {
    // Prepare
    const human = captured();
    const machine = captured(true);
    // Act
    printProfile(human.out, 'jit-release', doc({}), {}, {});
    printProfile(machine.out, 'jit-release', doc({}), {}, {});
    // Assess
    expect(human.text.stdout).toBe(
      '[profile jit-release]\ncredential_process = jit credential-process req-1\n',
    );
    expect(machine.text.stdout).toBe('');
    expect(machine.text.stderr).toBe(human.text.stdout);
  });

  it('refuses a policy grant and a name the config file would misread', () => {
    // Prepare
    const { out } = captured();
    // Act + Assess
    expect(() => printProfile(out, 'p', doc({ kind: 'policy' }), {}, {})).toThrow(
      expect.objectContaining({ exitCode: EXIT.INVALID }),
    );
    expect(() => printProfile(out, 'a]\n[default', doc({}), {}, {})).toThrow(
      expect.objectContaining({ exitCode: EXIT.INVALID }),
    );
  });
});

describe('assertCredentialsGrant', () => {
  it.each([
    ['REVOKED', EXIT.ENDED],
    ['APPROVAL_EXPIRED', EXIT.ENDED],
    ['DENIED', EXIT.DENIED],
    ['PENDING_APPROVAL', EXIT.FAILURE],
  ] as const)('refuses a %s request with exit %i and one line', (status, code) => {
    // Act + Assess
    expect(() => assertCredentialsGrant(doc({ status }))).toThrow(
      expect.objectContaining({
        exitCode: code,
        message: expect.stringMatching(/^request req-1 is [A-Z_]+: [^\n]+$/),
      }),
    );
  });

  it('refuses a policy grant with exit 5 and passes a GRANTED credentials grant', () => {
    // Act + Assess
    expect(() => assertCredentialsGrant(doc({ status: 'GRANTED', kind: 'policy' }))).toThrow(
      expect.objectContaining({ exitCode: EXIT.INVALID }),
    );
    expect(assertCredentialsGrant(doc({ status: 'GRANTED' })).id).toBe('req-1');
  });
});
