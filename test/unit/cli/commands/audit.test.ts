import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeCheck, mapBounded, REVIEW_CONCURRENCY, sinceArg } from '../../../../cli/commands/audit.ts';
import { EXIT } from '../../../../cli/errors.ts';
import { run } from '../../../../cli/program.ts';
import { makeReview, REVIEW_ID } from '../review-fixture.ts';

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

const ALICE = 'arn:aws:sts::111122223333:assumed-role/Auditor/alice';
const LOCAL = ['--local', '--as', ALICE, '--api', 'http://127.0.0.1:8787'];

/** A request of the list answer. */
const listed = (id: string, status: string, ruleId = 'app-read') => ({
  id,
  status,
  ruleId,
  requester: ALICE,
  target: 'arn:aws:iam::111122223333:role/app-reader',
  createdAt: new Date(Date.now() - 3_600_000).toISOString(),
});

/** A fake API on the global fetch: answers by path, and records every URL asked. */
function fakeApi(answer: (url: URL) => { status: number; body: unknown }) {
  const asked: URL[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  vi.stubGlobal('fetch', async (url: string) => {
    const u = new URL(url);
    asked.push(u);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    const { status, body } = answer(u);
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  });
  return { asked, maxInFlight: () => maxInFlight };
}

const notFound = { status: 404, body: { error: { code: 'NotFound', message: 'no such route' } } };

describe('jit audit (command)', () => {
  let stdout: string;
  let stderr: string;
  let saved: NodeJS.ProcessEnv;
  let dir: string;

  beforeEach(() => {
    saved = { ...process.env };
    process.env.NO_COLOR = '1';
    dir = mkdtempSync(join(tmpdir(), 'jit-audit-'));
    process.env.XDG_CONFIG_HOME = join(dir, 'xdg');
    stdout = '';
    stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((t) => {
      stdout += String(t);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((t) => {
      stderr += String(t);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
    process.env = saved;
    process.exitCode = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const jit = (...args: string[]) => run(['node', 'jit', ...LOCAL, ...args]);

  it('prints the review of a request as a table', async () => {
    // Prepare
    const api = fakeApi((u) =>
      u.pathname === `/requests/${REVIEW_ID}/review` ? { status: 200, body: makeReview() } : notFound,
    );
    // Act
    const code = await jit('audit', REVIEW_ID);
    // Assess
    expect(code).toBe(EXIT.OK);
    expect(api.asked.map((u) => u.pathname)).toEqual([`/requests/${REVIEW_ID}/review`]);
    expect(stdout).toContain(`${REVIEW_ID}  review  final (pass 2)`);
    expect(stdout).toContain('unused: 3 of 5 granted actions never used (60%)');
  });

  it('prints the review as JSON with --format json or --json', async () => {
    // Prepare
    fakeApi(() => ({ status: 200, body: makeReview() }));
    // Act
    const format = await jit('audit', REVIEW_ID, '--format', 'json');
    const asFormat = JSON.parse(stdout);
    stdout = '';
    const json = await jit('--json', 'audit', REVIEW_ID);
    // Assess
    expect([format, json]).toEqual([EXIT.OK, EXIT.OK]);
    expect(asFormat).toEqual(makeReview());
    expect(JSON.parse(stdout)).toEqual(makeReview());
  });

  it('writes the HTML page to --output, owner-only, and nothing to stdout', async () => {
    // Prepare
    fakeApi(() => ({ status: 200, body: makeReview({ reason: '<script>alert(1)</script>' }) }));
    const file = join(dir, 'review.html');
    // Act
    const code = await jit('audit', REVIEW_ID, '--format', 'html', '--output', file);
    // Assess
    expect(code).toBe(EXIT.OK);
    expect(stdout).toBe('');
    expect(stderr).toContain(`wrote ${file}`);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('maps API refusals to the exit codes: 403 → 6, 409 NotGranted → 1', async () => {
    // Prepare
    fakeApi((u) =>
      u.pathname.startsWith('/requests/forbidden')
        ? { status: 403, body: { error: { code: 'Forbidden', message: 'not yours' } } }
        : { status: 409, body: { error: { code: 'NotGranted', message: 'the request was never granted' } } },
    );
    // Act
    const forbidden = await jit('audit', 'forbidden-1');
    const notGranted = await jit('audit', 'pending-1');
    // Assess
    expect(forbidden).toBe(EXIT.UNAUTHORIZED);
    expect(notGranted).toBe(EXIT.FAILURE);
    expect(stderr).toContain('NotGranted: the request was never granted');
  });

  it('refuses an id with --since, neither, and --format html for a summary, as usage errors', async () => {
    // Prepare
    const api = fakeApi(() => ({ status: 200, body: { requests: [] } }));
    // Act
    const codes = [
      await jit('audit', REVIEW_ID, '--since', '7d'),
      await jit('audit'),
      await jit('audit', '--since', '7d', '--format', 'html'),
      await jit('audit', REVIEW_ID, '--format', 'pdf'),
    ];
    // Assess
    expect(codes).toEqual([EXIT.INVALID, EXIT.INVALID, EXIT.INVALID, EXIT.INVALID]);
    expect(api.asked).toHaveLength(0);
  });

  it('--since pages through every request of the window and reviews only the granted ones, 4 at a time', async () => {
    // Prepare
    const first = [
      listed('g1', 'GRANTED'),
      listed('p1', 'PENDING'),
      listed('r1', 'REVOKED'),
      listed('d1', 'DENIED'),
      listed('f1', 'REVOKE_FAILED'),
    ];
    const second = [listed('r2', 'REVOKED'), listed('r3', 'REVOKED'), listed('x1', 'GRANT_FAILED')];
    const idle = ['s3:GetObject', 's3:ListBucket', 's3:PutObject', 's3:DeleteObject', 'kms:Decrypt'];
    const api = fakeApi((u) => {
      if (u.pathname === '/requests') {
        return u.searchParams.get('next') === 'page-2'
          ? { status: 200, body: { requests: second } }
          : { status: 200, body: { requests: first, next: 'page-2' } };
      }
      const id = /^\/requests\/([^/]+)\/review$/.exec(u.pathname)?.[1] ?? '';
      if (id === 'r3')
        return { status: 409, body: { error: { code: 'NotGranted', message: 'never granted' } } };
      const unusedAll = id === 'f1';
      return {
        status: 200,
        body: makeReview({
          requestId: id,
          ...(unusedAll ? { used: [], unused: { actions: idle, share: 1 } } : {}),
        }),
      };
    });
    const before = Date.now();
    // Act
    const code = await jit('audit', '--since', '7d');
    // Assess
    expect(code).toBe(EXIT.OK);
    const lists = api.asked.filter((u) => u.pathname === '/requests');
    expect(lists).toHaveLength(2);
    const since = Date.parse(lists[0]?.searchParams.get('since') ?? '');
    expect(Math.abs(since - (before - 7 * 86_400_000))).toBeLessThan(5_000);
    expect(lists[0]?.searchParams.get('limit')).toBe('100');
    const reviewed = api.asked
      .filter((u) => u.pathname.endsWith('/review'))
      .map((u) => u.pathname.split('/')[2]);
    expect(reviewed.sort()).toEqual(['f1', 'g1', 'r1', 'r2', 'r3']);
    expect(api.maxInFlight()).toBeLessThanOrEqual(REVIEW_CONCURRENCY);
    expect(stdout).toMatch(/grants reviewed\s+4\n/);
    // Three fixture grants at 60% unused and f1 at 100%.
    expect(stdout).toMatch(/mean unused share\s+70%/);
    expect(stdout).toContain('grants never used (1)');
    expect(stdout).toMatch(/ {2}f1\s+app-read/);
    expect(stdout).toContain('rule app-read: 70% of granted actions never used over 4 grants');
    expect(stdout).toContain('not reviewed (1)');
    expect(stdout).toContain('r3  NotGranted: never granted');
    expect(api.asked.some((u) => u.pathname.includes('/verify'))).toBe(false);
  });

  it('--since passes --rule to the list and prints Markdown with --format md', async () => {
    // Prepare
    const api = fakeApi((u) =>
      u.pathname === '/requests'
        ? { status: 200, body: { requests: [listed('g1', 'GRANTED')] } }
        : { status: 200, body: makeReview({ requestId: 'g1' }) },
    );
    // Act
    const code = await jit('audit', '--since', '12h', '--rule', 'app-read', '--format', 'md');
    // Assess
    expect(code).toBe(EXIT.OK);
    expect(api.asked[0]?.searchParams.get('rule')).toBe('app-read');
    expect(stdout).toMatch(/^# Access audit since /);
    expect(stdout).toContain('| grants reviewed | 1 |');
  });

  it('still sends `jit audit verify --since 30d` to verify, not to the summary', async () => {
    // Prepare
    const api = fakeApi((u) => {
      if (u.pathname === '/requests') return { status: 200, body: { requests: [listed('r1', 'REVOKED')] } };
      if (u.pathname === '/requests/r1/verify') {
        return { status: 200, body: { ok: true, requestId: 'r1', events: 7, verifiedAgainst: 'archive' } };
      }
      if (u.pathname === '/evidence/digests') {
        return {
          status: 200,
          body: { ok: true, digests: 0, requests: 0, verifiedAgainst: 'archive' },
        };
      }
      return notFound;
    });
    // Act
    const code = await jit('audit', 'verify', '--since', '30d');
    // Assess
    expect(code).toBe(EXIT.OK);
    expect(api.asked.map((u) => u.pathname)).toEqual([
      '/requests',
      '/requests/r1/verify',
      '/evidence/digests',
    ]);
    expect(api.asked[0]?.searchParams.get('since')).toBeNull();
    expect(api.asked[2]?.searchParams.get('since')).toBe('30');
    expect(stdout).toContain('r1  verified against the archive (7 events)');
  });

  it('still verifies one request by id', async () => {
    // Prepare
    const api = fakeApi(() => ({
      status: 200,
      body: { ok: false, requestId: REVIEW_ID, seq: 3, reason: 'differs', verifiedAgainst: 'archive' },
    }));
    // Act
    const code = await jit('audit', 'verify', REVIEW_ID);
    // Assess
    expect(code).toBe(EXIT.FAILURE);
    expect(api.asked.map((u) => u.pathname)).toEqual([`/requests/${REVIEW_ID}/verify`]);
    expect(stdout).toContain(`${REVIEW_ID}  DOES NOT VERIFY at event 3: differs`);
  });
});

describe('mapBounded', () => {
  it('runs at most `limit` at once and keeps the order of the items', async () => {
    // Prepare
    let inFlight = 0;
    let most = 0;
    const work = async (n: number) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, (10 - n) * 2));
      inFlight--;
      return n * 10;
    };
    // Act
    const results = await mapBounded([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, work);
    // Assess
    expect(results).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(most).toBe(4);
  });
});
