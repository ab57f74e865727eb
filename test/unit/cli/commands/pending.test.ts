import pc from 'picocolors';
import { describe, expect, it } from 'vitest';
import { describePending, REVIEWS_HEADING } from '../../../../cli/commands/pending.ts';
import { EXIT } from '../../../../cli/errors.ts';
import type { PendingAnswer, PublicRequest } from '../../../../cli/types.ts';
import { cliHarness, fakeApi, NOT_FOUND } from '../fake-api.ts';

const BOB = 'arn:aws:sts::111122223333:assumed-role/Security/bob';
const ALICE = 'arn:aws:sts::111122223333:assumed-role/Operator/alice';
const DAVE = 'arn:aws:sts::111122223333:assumed-role/Developer/dave';
const NOW = Date.parse('2026-01-02T12:00:00.000Z');
const plain = pc.createColors(false);

function request(id: string, requester: string, extra: Partial<PublicRequest> = {}): PublicRequest {
  return {
    id,
    status: 'PENDING_APPROVAL',
    version: 2,
    requester,
    target: 'arn:aws:iam::111122223333:role/app-reader',
    targetType: 'role',
    kind: 'policy',
    ruleId: 'app-read',
    permissions: [{ actions: ['s3:GetObject'], resources: ['*'] }],
    durationSeconds: 900,
    reason: 'debug',
    approvals: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}

const breakGlass = (id: string, dueBy: string, reviews: number, overdueAt?: string) =>
  request(id, ALICE, {
    status: 'REVOKED',
    ruleId: 'break-glass-ops',
    breakGlass: {
      incident: 'INC-1234',
      reviews: Array.from({ length: reviews }, () => ({
        reviewer: 'arn:aws:sts::111122223333:assumed-role/Security/carol',
        verdict: 'appropriate' as const,
        notes: 'fine',
        at: '2026-01-01T03:00:00.000Z',
      })),
      reviewDueBy: dueBy,
      ...(overdueAt ? { overdueAt } : {}),
    },
  });

const ANSWER: PendingAnswer = {
  requests: [request('01JPENDING0000000000000001', DAVE)],
  reviews: [
    breakGlass('01JBREAKGLASS00000000000001', '2026-01-01T10:00:00.000Z', 1, '2026-01-01T10:00:05.000Z'),
    breakGlass('01JBREAKGLASS00000000000002', '2026-01-03T10:00:00.000Z', 0),
  ],
};

describe('describePending', () => {
  it('lists the break-glass reviews due below the approvals, overdue ones marked', () => {
    // Act
    const text = describePending(ANSWER, plain, NOW);
    // Assess
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/^01JPENDING0000000000000001 +PENDING_APPROVAL .* dave /);
    expect(lines[3]).toBe(REVIEWS_HEADING);
    expect(lines[4]).toMatch(/^ID +REQUESTER +INCIDENT +DUE BY +REVIEWS$/);
    expect(lines[5]).toMatch(
      /^01JBREAKGLASS00000000000001 +alice +INC-1234 +2026-01-01T10:00:00.000Z OVERDUE +1\/2$/,
    );
    expect(lines[6]).toMatch(
      /^01JBREAKGLASS00000000000002 +alice +INC-1234 +2026-01-03T10:00:00.000Z +0\/2$/,
    );
  });

  it('prints the approvals table alone when no review is due or the broker sends none', () => {
    // Act
    const empty = describePending({ requests: ANSWER.requests, reviews: [] }, plain, NOW);
    const older = describePending({ requests: ANSWER.requests }, plain, NOW);
    const nothing = describePending({ requests: [], reviews: [] }, plain, NOW);
    // Assess
    expect(empty).toBe(older);
    expect(empty).not.toContain(REVIEWS_HEADING);
    expect(nothing).toBe('(none)');
  });

  it('prints only the reviews section when no approval waits', () => {
    // Act
    const text = describePending({ requests: [], reviews: ANSWER.reviews ?? [] }, plain, NOW);
    // Assess
    expect(text.split('\n')[0]).toBe(REVIEWS_HEADING);
    expect(text).not.toContain('(none)');
  });
});

describe('jit pending', () => {
  const { out, jit } = cliHarness(BOB);
  const api = () => fakeApi((call) => (call.path === '/pending' ? { status: 200, body: ANSWER } : NOT_FOUND));

  it('prints both tables and how to act on each', async () => {
    // Prepare
    api();
    // Act
    const code = await jit('pending');
    // Assess
    expect(code).toBe(EXIT.OK);
    expect(out.stdout).toContain('01JPENDING0000000000000001');
    expect(out.stdout).toContain(REVIEWS_HEADING);
    expect(out.stdout).toMatch(/01JBREAKGLASS00000000000002 +alice +INC-1234/);
    expect(out.stderr).toContain('decide with: jit approve <id>');
    expect(out.stderr).toContain('jit review <id> --verdict appropriate|misuse');
  });

  it('prints the whole answer with --json', async () => {
    // Prepare
    api();
    // Act
    const code = await jit('--json', 'pending');
    // Assess
    expect(code).toBe(EXIT.OK);
    expect(JSON.parse(out.stdout)).toEqual(ANSWER);
    expect(out.stderr).toBe('');
  });
});
