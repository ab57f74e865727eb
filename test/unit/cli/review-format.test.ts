import pc from 'picocolors';
import { describe, expect, it } from 'vitest';
import {
  escapeHtml,
  escapeMarkdown,
  plain,
  renderReview,
  reviewHtml,
  reviewMarkdown,
  reviewText,
  timelineSvg,
} from '../../../cli/review-format.ts';
import { makeReview, REVIEW_ID } from './review-fixture.ts';

const NO_COLOUR = pc.createColors(false);
const HOSTILE = `<script>alert("x")</script><img src=x onerror='alert(1)'>&`;

/** How often `needle` occurs in `text`. */
const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('escapeHtml', () => {
  it('turns every character HTML gives a meaning to into an entity', () => {
    // Act
    const escaped = escapeHtml(HOSTILE);
    // Assess
    expect(escaped).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;',
    );
    expect(escaped).not.toMatch(/[<>"']/);
  });

  it('leaves plain text alone', () => {
    // Act
    const escaped = escapeHtml('s3:GetObject on arn:aws:s3:::app-data/exports/*');
    // Assess
    expect(escaped).toBe('s3:GetObject on arn:aws:s3:::app-data/exports/*');
  });
});

describe('escapeMarkdown and plain', () => {
  it('escapes Markdown syntax and folds newlines into one cell', () => {
    // Act
    const cell = escapeMarkdown('a | b\n**bold** <b>[x](javascript:y)');
    // Assess
    expect(cell).toBe('a \\| b \\*\\*bold\\*\\* \\<b\\>\\[x\\]\\(javascript:y\\)');
  });

  it('replaces terminal control characters', () => {
    // Act
    const text = plain('ok\u001b]0;pwned\u0007\u009b2J done');
    // Assess
    expect(text).toBe('ok?]0;pwned??2J done');
  });
});

describe('reviewText', () => {
  it('prints the head, the used actions with their numbers, refusals, unused share, policy, visibility and integrity', () => {
    // Prepare
    const review = makeReview();
    // Act
    const text = reviewText(review, NO_COLOUR);
    // Assess
    expect(text).toContain(`${REVIEW_ID}  review  final (pass 2)`);
    expect(text).toMatch(/rule\s+app-read \(credentials grant\)/);
    expect(text).toContain(
      'arn:aws:sts::111122223333:assumed-role/Developer/alice → arn:aws:iam::111122223333:role/app-reader (account 111122223333)',
    );
    expect(text).toMatch(/reason\s+INC-42 nightly export stuck/);
    expect(text).toContain('assumed-role/Approver/bob at 2025-03-04T08:58:10.000Z');
    expect(text).toMatch(/first use\s+2025-03-04T09:02:00.000Z {2}s3:ListBucket from 198\.51\.100\.7/);
    expect(text).toContain('used: 21 allowed call(s) on 2 action × resource pair(s)');
    expect(text).toMatch(
      /s3:GetObject\s+arn:aws:s3:::app-data\/exports\/\*\s+17\s+2025-03-04T09:06:00.000Z\s+2025-03-04T09:22:00.000Z/,
    );
    expect(text).toMatch(/s3:ListBucket\s+arn:aws:s3:::app-data\s+4\s/);
    expect(text).toContain('refused: 2 call(s), 1 inside the grant, 1 outside');
    expect(text).toMatch(/iam:CreateUser\s+\*\s+AccessDenied\s+outside\s+203\.0\.113\.9/);
    expect(text).toContain('unused: 3 of 5 granted actions never used (60%)');
    expect(text).toMatch(/\n {8}"Action": \[\n {10}"s3:GetObject"\n/);
    expect(text).toMatch(/athena:cloudtrail\.org_trail\s+management\+data\s+5\s+23\s+ok/);
    expect(text).toContain('integrity: hash chain intact (9 events)');
    expect(text).not.toContain('INCOMPLETE');
  });

  it('says PROVISIONAL, INCOMPLETE and a broken chain loudly', () => {
    // Prepare
    const review = makeReview({
      provisional: true,
      pass: 0,
      visibility: {
        eventClasses: ['management'],
        sources: [
          {
            name: 'cloudtrail:111122223333:eu-west-1',
            eventClasses: ['management'],
            calls: 1,
            events: 0,
            error: 'Throttling',
          },
        ],
        incomplete: true,
      },
      integrity: { ok: false, events: 9, problem: 'event 4 does not chain' },
    });
    // Act
    const text = reviewText(review, NO_COLOUR);
    // Assess
    expect(text).toContain('PROVISIONAL (pass 0)');
    expect(text.split('\n')[1]).toBe(
      'INCOMPLETE REVIEW: cloudtrail:111122223333:eu-west-1 failed; calls may be missing',
    );
    expect(text).toContain('Throttling');
    expect(text).toContain('data events (S3 objects, DynamoDB items, …) were not visible to this review');
    expect(text).toContain('hash chain BROKEN (9 events): event 4 does not chain');
  });

  it('gives the allowed calls as a lower bound when rows of used were left out', () => {
    // Act
    const text = reviewText(makeReview({ usedTruncated: true }), NO_COLOUR);
    // Assess
    expect(text).toContain('used: at least 21 allowed call(s) on 2 listed action × resource pair(s)');
  });

  it('strips escape sequences from a hostile reason', () => {
    // Act
    const text = reviewText(makeReview({ reason: 'fix\u001b[2J\u001b]0;owned\u0007' }), NO_COLOUR);
    // Assess
    expect(text).not.toContain('\u001b');
    expect(text).toContain('fix?[2J?]0;owned?');
  });
});

describe('reviewMarkdown', () => {
  it('has headings and tables with the numbers of the review', () => {
    // Act
    const md = reviewMarkdown(makeReview());
    // Assess
    expect(md.startsWith(`# Access review: ${REVIEW_ID}\n`)).toBe(true);
    expect(md).toContain('> Final review (pass 2).');
    expect(md).toContain('## Used actions (21 allowed calls)');
    expect(md).toContain(
      '| s3:GetObject | arn:aws:s3:::app-data/exports/\\* | 17 | 2025-03-04T09:06:00.000Z | 2025-03-04T09:22:00.000Z |',
    );
    expect(md).toContain('## Refusals (2: 1 inside the grant, 1 outside)');
    expect(md).toContain(
      '| 2025-03-04T10:01:30.000Z | s3:PutObject | arn:aws:s3:::app-data/exports/\\* | AccessDenied | inside |',
    );
    expect(md).toContain('3 of 5 granted actions never used \\(60%\\)');
    expect(md).toContain('- kms:Decrypt');
    expect(md).toContain('```json\n{\n  "Version": "2012-10-17"');
    expect(md).toContain('| athena:cloudtrail.org\\_trail | management, data | 5 | 23 | ok |');
    expect(md).toContain('hash chain intact \\(9 events\\)');
  });

  it('escapes a hostile reason and flags an incomplete review', () => {
    // Prepare
    const review = makeReview({
      reason: `${HOSTILE} | break the table\n# heading`,
      provisional: true,
      visibility: { ...makeReview().visibility, incomplete: true },
    });
    // Act
    const md = reviewMarkdown(review);
    // Assess
    expect(md).not.toContain('<script>');
    expect(md).toContain('\\<script\\>');
    expect(md).toContain('\\| break the table \\# heading');
    expect(md).toContain('> **PROVISIONAL** (pass 2)');
    expect(md).toContain('> **INCOMPLETE REVIEW: a source failed; calls may be missing**');
  });
});

describe('reviewHtml', () => {
  it('is one self-contained page: inline CSS, no script, no external asset', () => {
    // Act
    const html = reviewHtml(makeReview());
    // Assess
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(count(html, '<style>')).toBe(1);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|@import|url\(/i);
    // The only links are the CloudTrail records, which are not loaded.
    expect(
      [...html.matchAll(/href="([^"]*)"/g)].every((m) => m[1]?.startsWith('https://console.aws.amazon.com/')),
    ).toBe(true);
  });

  it('contains the numbers of the review', () => {
    // Act
    const html = reviewHtml(makeReview());
    // Assess
    expect(html).toContain(`<h1>Access review: ${REVIEW_ID}</h1>`);
    expect(html).toContain('<h2>Used actions (21 allowed calls)</h2>');
    expect(html).toContain('<td>s3:GetObject</td><td>arn:aws:s3:::app-data/exports/*</td><td>17</td>');
    expect(html).toContain('<h2>Refusals (2: 1 inside the grant, 1 outside)</h2>');
    expect(html).toContain('3 of 5 granted actions never used (60%)');
    expect(html).toContain('&quot;s3:ListBucket&quot;');
    expect(html).toContain('hash chain intact (9 events)');
    expect(html).toContain('<div class="banner final">Final review (pass 2).</div>');
  });

  it('escapes every hostile string of the review', () => {
    // Prepare
    const base = makeReview();
    const review = makeReview({
      requestId: HOSTILE,
      reason: HOSTILE,
      ticket: HOSTILE,
      requester: HOSTILE,
      approvals: [{ approver: HOSTILE, at: '2025-03-04T08:58:10.000Z' }],
      unused: { actions: [HOSTILE], share: 0.2 },
      refused: [
        { ...(base.refused[0] as (typeof base.refused)[number]), action: HOSTILE, errorCode: HOSTILE },
      ],
      calls: [
        { ...(base.calls[0] as (typeof base.calls)[number]), action: HOSTILE, link: 'javascript:alert(1)' },
      ],
      visibility: {
        ...base.visibility,
        sources: [{ name: HOSTILE, eventClasses: ['management'], calls: 1, events: 1, error: HOSTILE }],
      },
      integrity: { ok: false, events: 1, problem: HOSTILE },
    });
    // Act
    const html = reviewHtml(review);
    // Assess
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain("onerror='");
    expect(html).not.toContain('javascript:');
    expect(count(html, '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;')).toBeGreaterThanOrEqual(10);
  });

  it('draws the window as an SVG with one mark per call, allowed and refused apart', () => {
    // Prepare
    const review = makeReview();
    // Act
    const html = reviewHtml(review);
    // Assess
    expect(count(html, '<svg')).toBe(1);
    expect(count(html, 'class="call allowed"')).toBe(21);
    expect(count(html, 'class="call refused"')).toBe(2);
    expect(count(html, 'class="call ')).toBe(review.calls.length);
    for (const kind of ['approval', 'grant', 'first-use', 'revoke', 'expiry']) {
      expect(count(html, `<g class="mark ${kind}">`)).toBe(1);
    }
  });

  it('places the marks in time order along the axis', () => {
    // Act
    const svg = timelineSvg(makeReview());
    // Assess
    const xOf = (kind: string) =>
      Number(new RegExp(`<g class="mark ${kind}"><line x1="([\\d.]+)"`).exec(svg)?.[1]);
    expect(xOf('approval')).toBeLessThan(xOf('grant'));
    expect(xOf('grant')).toBeLessThan(xOf('first-use'));
    expect(xOf('expiry')).toBeLessThan(xOf('revoke'));
    const dots = [...svg.matchAll(/class="call allowed" cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(dots).toEqual([...dots].sort((a, b) => a - b));
  });
});

describe('renderReview', () => {
  it('prints JSON as received', () => {
    // Prepare
    const review = makeReview();
    // Act
    const json = renderReview(review, 'json', NO_COLOUR);
    // Assess
    expect(JSON.parse(json)).toEqual(review);
  });
});
