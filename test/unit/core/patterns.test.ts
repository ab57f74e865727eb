import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { covers, hasWildcard, matches, overlaps } from '#core/patterns.ts';

const ci = { caseInsensitive: true };

/** A pattern over a tiny alphabet, as tokens, so samples can be built from it. */
const tokensArb = fc.array(fc.constantFrom('a', 'b', 'B', '*', '?'), { maxLength: 6 });
/** What each `*`/`?` of a pattern stands for in one sample string. */
const fillsArb = fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'B'), maxLength: 3 }), {
  minLength: 6,
  maxLength: 6,
});

/** A concrete string matched by the pattern `tokens`: each star becomes its fill, each `?` one character. */
function sample(tokens: readonly string[], fills: readonly string[]): string {
  return tokens
    .map((t, i) => {
      if (t === '*') return fills[i] ?? '';
      if (t === '?') return (fills[i] ?? '')[0] ?? 'a';
      return t;
    })
    .join('');
}

describe('matches', () => {
  it.each([
    ['s3:GetObject', 's3:GetObject', true],
    ['s3:Get*', 's3:GetObject', true],
    ['s3:Get*', 's3:Get', true],
    ['s3:Get*', 's3:PutObject', false],
    ['s3:Get?bject', 's3:GetObject', true],
    ['s3:Get?bject', 's3:Getbject', false],
    ['s3:Get?bject', 's3:GetOObject', false],
    ['*', '', true],
    ['?', '', false],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZ', false],
    ['arn:aws:s3:::app-data/*', 'arn:aws:s3:::app-data/a/b', true],
    ['arn:aws:s3:::app-data/*', 'arn:aws:s3:::app-database', false],
  ])('matches(%s, %s) is %s', (pattern, value, expected) => {
    // Act
    const result = matches(pattern, value);
    // Assess
    expect(result).toBe(expected);
  });

  it('compares case-sensitively unless asked not to', () => {
    // Act
    const sensitive = matches('s3:GetObject', 'S3:getobject');
    const insensitive = matches('s3:GetObject', 'S3:getobject', ci);
    const wildcard = matches('S3:get*', 's3:GETOBJECT', ci);
    // Assess
    expect(sensitive).toBe(false);
    expect(insensitive).toBe(true);
    expect(wildcard).toBe(true);
  });
});

describe('covers', () => {
  it.each([
    ['s3:*', 's3:Get*', true],
    ['s3:Get*', 's3:*', false],
    ['s3:Get*', 's3:GetObject', true],
    ['s3:GetObject', 's3:Get*', false],
    ['s3:Get?bject', 's3:GetObject', true],
    ['s3:GetObject', 's3:Get?bject', false],
    ['s3:Get?bject', 's3:Get?bject', true],
    ['s3:Get*', 's3:Get?bject', true],
    ['s3:?', 's3:*', false],
    ['*', '', true],
    ['', '*', false],
    ['a*', 'a?*', true],
    ['arn:aws:s3:::app-data/*', 'arn:aws:s3:::app-data*', false],
    ['arn:aws:s3:::app-*', 'arn:aws:s3:::app-data/*', true],
  ])('covers(%s, %s) is %s', (outer, inner, expected) => {
    // Act
    const result = covers(outer, inner);
    // Assess
    expect(result).toBe(expected);
  });

  it('ignores case only when asked to', () => {
    // Act
    const sensitive = covers('dynamodb:Get*', 'DynamoDB:getitem');
    const insensitive = covers('dynamodb:Get*', 'DynamoDB:getitem', ci);
    // Assess
    expect(sensitive).toBe(false);
    expect(insensitive).toBe(true);
  });

  it('never claims a cover that a sample string disproves', () => {
    // Act / Assess
    fc.assert(
      fc.property(tokensArb, tokensArb, fillsArb, fc.boolean(), (outer, inner, fills, caseInsensitive) => {
        const a = outer.join('');
        const b = inner.join('');
        const s = sample(inner, fills);
        const opts = { caseInsensitive };
        expect(matches(b, s, opts)).toBe(true);
        if (covers(a, b, opts)) expect(matches(a, s, opts)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('covers every pattern by itself and by a lone star', () => {
    // Act / Assess
    fc.assert(
      fc.property(tokensArb, (tokens) => {
        const p = tokens.join('');
        expect(covers(p, p)).toBe(true);
        expect(covers('*', p)).toBe(true);
      }),
    );
  });
});

describe('overlaps', () => {
  it.each([
    ['iam:*', 'iam:PassRole', true],
    ['iam:*', 'i*', true],
    ['iam:Pass*', 'iam:*Role', true],
    ['iam:Pass*', 'iam:Get*', false],
    ['a*', '*b', true],
    ['*a', '*b', false],
    ['?', '', false],
    ['?', '*', true],
    ['s3:Get?', 's3:Get', false],
  ])('overlaps(%s, %s) is %s', (a, b, expected) => {
    // Act
    const forward = overlaps(a, b);
    const backward = overlaps(b, a);
    // Assess
    expect(forward).toBe(expected);
    expect(backward).toBe(expected);
  });

  it('ignores case for actions when asked to', () => {
    // Act
    const sensitive = overlaps('iam:pass*', 'IAM:PassRole');
    const insensitive = overlaps('iam:pass*', 'IAM:PassRole', ci);
    // Assess
    expect(sensitive).toBe(false);
    expect(insensitive).toBe(true);
  });

  it('finds every overlap a shared sample string proves', () => {
    // Act / Assess
    fc.assert(
      fc.property(tokensArb, tokensArb, fillsArb, fc.boolean(), (left, right, fills, caseInsensitive) => {
        const a = left.join('');
        const b = right.join('');
        const s = sample(right, fills);
        const opts = { caseInsensitive };
        if (matches(a, s, opts)) {
          expect(overlaps(a, b, opts)).toBe(true);
          expect(overlaps(b, a, opts)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('hasWildcard', () => {
  it.each([
    ['s3:Get*', true],
    ['s3:Get?bject', true],
    ['s3:GetObject', false],
  ])('hasWildcard(%s) is %s', (text, expected) => {
    // Act
    const result = hasWildcard(text);
    // Assess
    expect(result).toBe(expected);
  });
});
