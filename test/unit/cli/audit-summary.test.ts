import pc from 'picocolors';
import { describe, expect, it } from 'vitest';
import { hintText, ruleHint, summarize, summaryMarkdown, summaryText } from '../../../cli/audit-summary.ts';
import { makeReview } from './review-fixture.ts';

const SINCE = '2025-02-25T00:00:00.000Z';
const NO_COLOUR = pc.createColors(false);

/** A review of `ruleId` granting s3:GetObject, s3:PutObject, s3:DeleteObject, kms:Decrypt, `unused` of them unused. */
function grant(id: string, ruleId: string, unused: string[], calls = 5) {
  const actions = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 'kms:Decrypt'];
  const used = actions.filter((a) => !unused.includes(a));
  return makeReview({
    requestId: id,
    ruleId,
    granted: [{ actions, resources: ['*'] }],
    unused: { actions: unused, share: unused.length / actions.length },
    used: used.map((action) => ({
      action,
      resource: '*',
      calls,
      firstAt: '2025-03-01T10:00:00.000Z',
      lastAt: '2025-03-01T10:05:00.000Z',
      sessions: ['s'],
      sourceIps: ['198.51.100.7'],
      userAgents: [],
    })),
    refused: [],
  });
}

describe('summarize', () => {
  it('sums calls and refusals and averages the unused share', () => {
    // Prepare
    const reviews = [makeReview(), grant('r2', 'db-admin', ['kms:Decrypt'], 10)];
    // Act
    const s = summarize(SINCE, reviews);
    // Assess
    expect(s.grants).toBe(2);
    // Fixture: 17 + 4 allowed and 2 refused; r2: three actions used 10 times each.
    expect(s.calls).toBe(23 + 30);
    expect(s.refusals).toBe(2);
    expect(s.meanUnusedShare).toBeCloseTo((0.6 + 0.25) / 2);
    expect(s.neverUsed).toEqual([]);
  });

  it('lists the grants with no allowed call as never used', () => {
    // Prepare
    const idle = grant('r-idle', 'app-read', [
      's3:GetObject',
      's3:PutObject',
      's3:DeleteObject',
      'kms:Decrypt',
    ]);
    // Act
    const s = summarize(SINCE, [makeReview(), idle]);
    // Assess
    expect(s.neverUsed.map((g) => g.requestId)).toEqual(['r-idle']);
    expect(s.neverUsed[0]?.unusedShare).toBe(1);
  });

  it('has no mean without grants', () => {
    // Act
    const s = summarize(SINCE, [], [{ requestId: 'r9', reason: 'Forbidden: not yours' }]);
    // Assess
    expect(s.meanUnusedShare).toBeNull();
    expect(s.skipped).toHaveLength(1);
    expect(summaryText(s, NO_COLOUR)).toMatch(/mean unused share\s+-/);
  });
});

describe('ruleHint', () => {
  it('hints at a rule whose grants leave at least half unused over three grants', () => {
    // Prepare
    const reviews = [
      grant('a', 'app-read', ['s3:PutObject', 's3:DeleteObject', 'kms:Decrypt']),
      grant('b', 'app-read', ['s3:PutObject', 's3:DeleteObject']),
      grant('c', 'app-read', ['s3:DeleteObject', 'kms:Decrypt']),
    ];
    // Act
    const hint = ruleHint('app-read', reviews);
    // Assess
    expect(hint).toEqual({
      ruleId: 'app-read',
      grants: 3,
      meanUnusedShare: (0.75 + 0.5 + 0.5) / 3,
      // kms:Decrypt (used by b) and s3:PutObject (used by c) stay: one grant needing them is enough.
      usedActions: ['kms:Decrypt', 's3:GetObject', 's3:PutObject'],
      neverUsedActions: ['s3:DeleteObject'],
    });
    expect(hintText(hint as NonNullable<typeof hint>)).toBe(
      'rule app-read: 58% of granted actions never used over 3 grants; consider narrowing to kms:Decrypt, s3:GetObject, s3:PutObject (never used: s3:DeleteObject)',
    );
  });

  it('gives no hint under three grants or under half unused', () => {
    // Prepare
    const most = ['s3:PutObject', 's3:DeleteObject', 'kms:Decrypt'];
    const few = [grant('a', 'r', most), grant('b', 'r', most)];
    const used = [grant('a', 'r', ['kms:Decrypt']), grant('b', 'r', most), grant('c', 'r', ['kms:Decrypt'])];
    // Act
    const hints = [ruleHint('r', few), ruleHint('r', used)];
    // Assess
    expect(hints).toEqual([undefined, undefined]);
  });

  it('summarize keeps only the rules that pass the threshold, worst first', () => {
    // Prepare
    const half = ['s3:PutObject', 's3:DeleteObject'];
    const all = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 'kms:Decrypt'];
    const reviews = [
      ...['a1', 'a2', 'a3'].map((id) => grant(id, 'exactly-half', half)),
      ...['b1', 'b2', 'b3', 'b4'].map((id) => grant(id, 'idle', all)),
      ...['c1', 'c2'].map((id) => grant(id, 'too-few', all)),
    ];
    // Act
    const s = summarize(SINCE, reviews);
    // Assess
    expect(s.hints.map((h) => [h.ruleId, h.meanUnusedShare])).toEqual([
      ['idle', 1],
      ['exactly-half', 0.5],
    ]);
    expect(hintText(s.hints[0] as (typeof s.hints)[number])).toBe(
      'rule idle: 100% of granted actions never used over 4 grants; consider whether the rule is needed at all (never used: kms:Decrypt, s3:DeleteObject, s3:GetObject, s3:PutObject)',
    );
  });
});

describe('summaryText and summaryMarkdown', () => {
  it('print the totals, the grants never used and the hints', () => {
    // Prepare
    const all = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 'kms:Decrypt'];
    const s = summarize(
      SINCE,
      ['i1', 'i2', 'i3'].map((id) => grant(id, 'idle', all)),
    );
    // Act
    const text = summaryText(s, NO_COLOUR);
    const md = summaryMarkdown(s);
    // Assess
    expect(text).toMatch(/grants reviewed\s+3/);
    expect(text).toMatch(/mean unused share\s+100%/);
    expect(text).toContain('grants never used (3)');
    expect(text).toContain('rule idle: 100% of granted actions never used over 3 grants');
    expect(md).toContain('| mean unused share | 100% |');
    expect(md).toContain('| i2 | idle |');
    expect(md).toContain('- rule idle: 100% of granted actions never used over 3 grants');
  });
});
