import { describe, expect, it } from 'vitest';
import { BREAK_GLASS_REVIEWERS } from '#core/requests/break-glass.ts';
import { describeReview, REVIEWS_NEEDED } from '../../../../cli/commands/review.ts';
import { EXIT } from '../../../../cli/errors.ts';
import { apiError, cliHarness, fakeApi, NOT_FOUND } from '../fake-api.ts';

const BOB = 'arn:aws:sts::111122223333:assumed-role/Security/bob';
const CAROL = 'arn:aws:sts::111122223333:assumed-role/Security/carol';
const ID = '01JBREAKGLASS00000000000001';

const verdict = (reviewer: string, v: 'appropriate' | 'misuse') => ({
  reviewer,
  verdict: v,
  notes: 'checked the audit review',
  at: '2026-01-01T02:00:00.000Z',
});

describe('describeReview', () => {
  it('counts the reviews against the two a break-glass review needs', () => {
    // Act
    const first = describeReview({ requestId: ID, reviews: [verdict(BOB, 'appropriate')], reviewed: false });
    const last = describeReview({
      requestId: ID,
      reviews: [verdict(CAROL, 'misuse'), verdict(BOB, 'appropriate')],
      reviewed: true,
    });
    // Assess
    expect(first).toBe(`${ID}  review 1 of 2 recorded`);
    expect(last).toBe(`${ID}  review complete (misuse, appropriate)`);
  });

  it('needs as many reviews as the broker', () => {
    // Assess
    expect(REVIEWS_NEEDED).toBe(BREAK_GLASS_REVIEWERS);
  });
});

describe('jit review', () => {
  const { out, jit } = cliHarness(BOB);

  it('posts the verdict and notes, and prints how many reviews are recorded', async () => {
    // Prepare
    const api = fakeApi((call) =>
      call.method === 'POST' && call.path === `/requests/${ID}/review`
        ? { status: 200, body: { requestId: ID, reviews: [verdict(BOB, 'appropriate')], reviewed: false } }
        : NOT_FOUND,
    );
    // Act
    const code = await jit('review', ID, '--verdict', 'appropriate', '--notes', 'restored the export only');
    // Assess
    expect(code).toBe(EXIT.OK);
    expect(api.calls).toEqual([
      {
        method: 'POST',
        path: `/requests/${ID}/review`,
        body: { verdict: 'appropriate', notes: 'restored the export only' },
      },
    ]);
    expect(out.stdout).toBe(`${ID}  review 1 of 2 recorded\n`);
  });

  it('prints review complete after the second verdict, and the answer with --json', async () => {
    // Prepare
    const answer = {
      requestId: ID,
      reviews: [verdict(CAROL, 'appropriate'), verdict(BOB, 'misuse')],
      reviewed: true,
      activityReview: { pass: 2, hash: 'abc' },
    };
    fakeApi(() => ({ status: 200, body: answer }));
    // Act
    const code = await jit('review', ID, '--verdict', 'misuse', '--notes', 'wrote outside the incident');
    const human = out.stdout;
    out.stdout = '';
    const jsonCode = await jit('--json', 'review', ID, '--verdict', 'misuse', '--notes', 'again');
    // Assess
    expect([code, jsonCode]).toEqual([EXIT.OK, EXIT.OK]);
    expect(human).toContain('review complete');
    expect(JSON.parse(out.stdout)).toEqual(answer);
  });

  it.each([
    [['--verdict', 'fine', '--notes', 'ok then']],
    [['--notes', 'no verdict given']],
    [['--verdict', 'appropriate']],
  ])('refuses a bad or missing verdict or notes with exit 5 before any call (%j)', async (args) => {
    // Prepare
    const api = fakeApi(() => NOT_FOUND);
    // Act
    const code = await jit('review', ID, ...args);
    // Assess
    expect(code).toBe(EXIT.INVALID);
    expect(api.calls).toEqual([]);
    expect(out.stderr).toMatch(/--verdict|--notes/);
  });

  it.each([
    [
      apiError(409, 'AlreadyReviewed', 'you have already reviewed this request'),
      EXIT.FAILURE,
      'AlreadyReviewed',
    ],
    [
      apiError(409, 'NotAwaitingReview', 'request is GRANTED: it is reviewed after revoke'),
      EXIT.FAILURE,
      'NotAwaitingReview',
    ],
    [
      apiError(403, 'Forbidden', 'a requester never reviews their own break-glass grant'),
      EXIT.UNAUTHORIZED,
      'Forbidden',
    ],
    [
      apiError(400, 'InvalidRequest', 'must be at least 3 characters', 'notes'),
      EXIT.INVALID,
      'notes must be',
    ],
  ])('maps a refusal to its exit code (%#)', async (answer, exit, text) => {
    // Prepare
    fakeApi(() => answer);
    // Act
    const code = await jit('review', ID, '--verdict', 'appropriate', '--notes', 'ok');
    // Assess
    expect(code).toBe(exit);
    expect(out.stderr).toContain(text);
    expect(out.stdout).toBe('');
  });
});
