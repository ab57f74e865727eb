import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { slackSignature, verifySlackSignature } from '#core/slack/signature.ts';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = new Date('2026-11-22T10:00:00Z');
const TS = String(NOW.getTime() / 1000);
const BODY = 'payload=%7B%22type%22%3A%22block_actions%22%7D';

function signed(overrides: Partial<Parameters<typeof verifySlackSignature>[0]> = {}) {
  return {
    signingSecret: SECRET,
    timestamp: TS,
    signature: slackSignature(SECRET, TS, BODY),
    body: Buffer.from(BODY),
    now: NOW,
    ...overrides,
  };
}

describe('slackSignature', () => {
  it('is v0= and the hex HMAC-SHA256 of v0:{timestamp}:{body} under the signing secret', () => {
    // Prepare
    const expected = createHmac('sha256', SECRET).update(`v0:${TS}:${BODY}`).digest('hex');
    // Act
    const signature = slackSignature(SECRET, TS, BODY);
    // Assess
    expect(signature).toBe(`v0=${expected}`);
  });
});

describe('verifySlackSignature', () => {
  it('accepts a request signed with the signing secret over the exact body', () => {
    // Act
    const check = verifySlackSignature(signed());
    // Assess
    expect(check).toEqual({ ok: true });
  });

  it('accepts an upper-case hex signature (hex is case-insensitive)', () => {
    // Prepare
    const signature = `v0=${slackSignature(SECRET, TS, BODY).slice(3).toUpperCase()}`;
    // Act
    const check = verifySlackSignature(signed({ signature }));
    // Assess
    expect(check).toEqual({ ok: true });
  });

  it('refuses a signature made with another secret', () => {
    // Act
    const check = verifySlackSignature(signed({ signature: slackSignature('another-secret', TS, BODY) }));
    // Assess
    expect(check).toEqual({ ok: false, problem: 'mismatch' });
  });

  it('refuses a body changed by one byte', () => {
    // Prepare
    const tampered = Buffer.from(BODY);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    // Act
    const check = verifySlackSignature(signed({ body: tampered }));
    // Assess
    expect(check).toEqual({ ok: false, problem: 'mismatch' });
  });

  it('refuses a correctly signed request whose timestamp is 6 minutes old (replay)', () => {
    // Prepare
    const old = String(Number(TS) - 6 * 60);
    // Act
    const check = verifySlackSignature(
      signed({ timestamp: old, signature: slackSignature(SECRET, old, BODY) }),
    );
    // Assess
    expect(check).toEqual({ ok: false, problem: 'stale' });
  });

  it('accepts a request 4 minutes old, inside the replay window', () => {
    // Prepare
    const recent = String(Number(TS) - 4 * 60);
    // Act
    const check = verifySlackSignature(
      signed({ timestamp: recent, signature: slackSignature(SECRET, recent, BODY) }),
    );
    // Assess
    expect(check).toEqual({ ok: true });
  });

  it('refuses a timestamp 6 minutes in the future', () => {
    // Prepare
    const future = String(Number(TS) + 6 * 60);
    // Act
    const check = verifySlackSignature(
      signed({ timestamp: future, signature: slackSignature(SECRET, future, BODY) }),
    );
    // Assess
    expect(check).toEqual({ ok: false, problem: 'stale' });
  });

  it('refuses a signature valid for another timestamp than the header says', () => {
    // Prepare
    const other = String(Number(TS) - 1);
    // Act
    const check = verifySlackSignature(signed({ signature: slackSignature(SECRET, other, BODY) }));
    // Assess
    expect(check).toEqual({ ok: false, problem: 'mismatch' });
  });

  it.each([
    ['no signature', { signature: undefined }],
    ['no timestamp', { timestamp: undefined }],
    ['an empty signature', { signature: '' }],
  ])('refuses %s', (_name, overrides) => {
    // Act
    const check = verifySlackSignature(signed(overrides));
    // Assess
    expect(check).toEqual({ ok: false, problem: 'missing' });
  });

  it.each([
    ['another version prefix', { signature: `v1=${'a'.repeat(64)}` }],
    ['a short signature', { signature: 'v0=abc' }],
    ['a non-numeric timestamp', { timestamp: '1700000000.5' }],
  ])('refuses %s as malformed', (_name, overrides) => {
    // Act
    const check = verifySlackSignature(signed(overrides));
    // Assess
    expect(check).toEqual({ ok: false, problem: 'malformed' });
  });

  it('refuses everything when the signing secret is empty (anyone could sign)', () => {
    // Act
    const check = verifySlackSignature(
      signed({ signingSecret: '', signature: slackSignature('', TS, BODY) }),
    );
    // Assess
    expect(check).toEqual({ ok: false, problem: 'unconfigured' });
  });
});
