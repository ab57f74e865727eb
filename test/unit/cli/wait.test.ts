import { describe, expect, it } from 'vitest';
import { JitClient } from '../../../cli/client.ts';
import { EXIT } from '../../../cli/errors.ts';
import { Output } from '../../../cli/output.ts';
import { waitFor } from '../../../cli/wait.ts';

const ALICE = 'arn:aws:sts::111122223333:assumed-role/Developer/alice';

function doc(status: string, votes = 0, required?: number) {
  return {
    id: 'req-1',
    status,
    ruleId: 'app-read',
    approvals: Array.from({ length: votes }, (_, i) => ({ approver: `bob${i}`, at: '2025-01-01T00:00:00Z' })),
    events:
      required === undefined
        ? []
        : [{ to: status, details: { vote: 'approve', approvals: votes, required } }],
  };
}

/** A local client whose GET /requests/{id} answers the next of `answers`, the last one forever. */
function setup(answers: (() => Response)[], rules: unknown = { rules: [] }) {
  const calls: string[] = [];
  let i = 0;
  const fetch = (async (url: string) => {
    const path = new URL(url).pathname;
    calls.push(path);
    if (path === '/rules') return new Response(JSON.stringify(rules));
    const answer = answers[Math.min(i++, answers.length - 1)];
    return answer ? answer() : new Response('{}', { status: 500 });
  }) as typeof globalThis.fetch;
  const client = new JitClient({ apiUrl: 'http://127.0.0.1:8787', local: { principal: ALICE }, fetch });
  const lines: string[] = [];
  const out = new Output({
    stdout: { write: () => true },
    stderr: { write: (text: string) => lines.push(text) },
    env: {},
  });
  return { client, out, lines, calls };
}

const json =
  (value: unknown, status = 200) =>
  () =>
    new Response(JSON.stringify(value), { status });

describe('waitFor', () => {
  it('polls until the request settles, with one line per change and the approvals against the quorum', async () => {
    // Prepare
    const { client, out, lines } = setup(
      [
        json(doc('REQUESTED')),
        json(doc('PENDING_APPROVAL')),
        json(doc('PENDING_APPROVAL')),
        json(doc('PENDING_APPROVAL', 1)),
        json(doc('GRANTED', 2)),
      ],
      { rules: [{ id: 'app-read', approval: { minApprovals: 2, approvers: ['x'] } }] },
    );
    // Act
    const result = await waitFor(client, 'req-1', { out, intervalMs: 1 });
    // Assess
    expect(result.status).toBe('GRANTED');
    expect(lines.map((l) => l.replace(/^\[\d+s\] /, '').trim())).toEqual([
      'req-1  REQUESTED',
      'req-1  PENDING_APPROVAL  approvals 0/2',
      'req-1  PENDING_APPROVAL  approvals 1/2',
      'req-1  GRANTED  approvals 2/2',
    ]);
  });

  it('stops where `until` says', async () => {
    // Prepare
    const { client, out } = setup([
      json(doc('REQUESTED')),
      json(doc('PENDING_APPROVAL')),
      json(doc('GRANTED')),
    ]);
    // Act
    const result = await waitFor(client, 'req-1', {
      out,
      intervalMs: 1,
      until: (s) => s === 'PENDING_APPROVAL',
    });
    // Assess
    expect(result.status).toBe('PENDING_APPROVAL');
  });

  it('gives up after the timeout with exit 4 and says how to resume', async () => {
    // Prepare
    const { client, out } = setup([json(doc('PENDING_APPROVAL'))]);
    // Act
    const waiting = waitFor(client, 'req-1', { out, intervalMs: 5, timeoutMs: 30, requiredApprovals: 1 });
    // Assess
    await expect(waiting).rejects.toMatchObject({
      exitCode: EXIT.TIMEOUT,
      message: expect.stringContaining('jit wait req-1'),
    });
  });

  it('rides out a failure that may pass (503, no answer), reporting it once', async () => {
    // Prepare
    const unavailable = json({ error: { code: 'RetryableAws', message: 'try again' } }, 503);
    const { client, out, lines } = setup([unavailable, unavailable, json(doc('DENIED'))]);
    // Act
    const result = await waitFor(client, 'req-1', { out, intervalMs: 1, requiredApprovals: 1 });
    // Assess
    expect(result.status).toBe('DENIED');
    expect(lines.filter((l) => l.includes('retrying'))).toHaveLength(1);
  });

  it('stops at once on an answer that will not change (403), with its exit code', async () => {
    // Prepare
    const { client, out } = setup([json({ error: { code: 'Forbidden', message: 'not yours' } }, 403)]);
    // Act
    const waiting = waitFor(client, 'req-1', { out, intervalMs: 1 });
    // Assess
    await expect(waiting).rejects.toMatchObject({ exitCode: EXIT.UNAUTHORIZED });
  });
});
