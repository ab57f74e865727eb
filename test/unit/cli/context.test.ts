import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../../cli/context.ts';
import { EXIT } from '../../../cli/errors.ts';

const REMOTE = 'https://a1b2c3.execute-api.eu-west-1.amazonaws.com/v1';
const SAVED = 'https://z9y8x7.execute-api.us-east-2.amazonaws.com/prod';
const ALICE = 'arn:aws:sts::111122223333:assumed-role/Developer/alice';
const saved = (config: Record<string, string>) => () => config;

describe('resolveSettings', () => {
  it('takes the API URL from --api, then JIT_API_URL, then the saved config', () => {
    // Act
    const flag = resolveSettings({ api: REMOTE }, { JIT_API_URL: SAVED }, saved({ apiUrl: SAVED }));
    const env = resolveSettings({}, { JIT_API_URL: REMOTE }, saved({ apiUrl: SAVED }));
    const file = resolveSettings({}, {}, saved({ apiUrl: SAVED, profile: 'dev' }));
    // Assess
    expect(flag).toEqual({ apiUrl: REMOTE, region: 'eu-west-1' });
    expect(env).toEqual({ apiUrl: REMOTE, region: 'eu-west-1' });
    expect(file).toEqual({ apiUrl: SAVED, region: 'us-east-2', profile: 'dev' });
  });

  it('with --local defaults to 127.0.0.1:8787, skipping a saved remote URL, and needs the caller', () => {
    // Act
    const local = resolveSettings({ local: true, as: ALICE }, {}, saved({ apiUrl: SAVED }));
    const fromEnv = resolveSettings({ local: true }, { JIT_PRINCIPAL: ALICE }, saved({}));
    const nobody = () => resolveSettings({ local: true }, {}, saved({}));
    // Assess
    expect(local).toEqual({ apiUrl: 'http://127.0.0.1:8787', local: { principal: ALICE } });
    expect(fromEnv.local).toEqual({ principal: ALICE });
    expect(nobody).toThrow(expect.objectContaining({ exitCode: EXIT.INVALID }));
  });

  it('refuses --as without --local, and a missing API URL, as usage errors', () => {
    // Act
    const as = () => resolveSettings({ as: ALICE }, {}, saved({ apiUrl: SAVED }));
    const none = () => resolveSettings({}, {}, saved({}));
    // Assess
    expect(as).toThrow(/add --local/);
    expect(none).toThrow(/run jit configure/);
    expect(none).toThrow(expect.objectContaining({ exitCode: EXIT.INVALID }));
  });

  it('does not read the saved config when the options say everything', () => {
    // Prepare
    const broken = () => {
      throw new Error('config read');
    };
    // Act
    const settings = () => resolveSettings({ api: REMOTE, profile: 'p', region: 'eu-west-1' }, {}, broken);
    // Assess
    expect(settings).not.toThrow();
  });
});
