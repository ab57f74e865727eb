import { describe, expect, it } from 'vitest';
import { verifyChain } from '#core/audit/chain.ts';
import { applyPatch, load, move, withFreshRead } from '#core/audit/transition.ts';
import { NotFoundError, TransitionRefusedError } from '#core/errors.ts';
import { submitRequest } from '#core/requests/requests.ts';
import { ALICE, fakeDeps, validBody } from '../../../support/fakes.ts';

describe('audit transitions', () => {
  it('moves a request with one chained event and returns it as stored', async () => {
    // Prepare
    const { deps, store } = fakeDeps();
    const { requestId } = await submitRequest(deps, ALICE, validBody());
    const request = await load(deps, requestId);
    // Act
    const moved = await move(deps, request, 'PENDING_APPROVAL', 'test', { n: 1 }, { taskToken: 't' });
    // Assess
    expect(moved).toEqual(await store.get(requestId));
    const events = await store.events(requestId);
    expect(events.map((e) => [e.seq, e.from, e.to])).toEqual([
      [1, null, 'REQUESTED'],
      [2, 'REQUESTED', 'PENDING_APPROVAL'],
    ]);
    expect(verifyChain(events, moved)).toEqual({ ok: true });
  });

  it('refuses a move from a stale read and writes nothing', async () => {
    // Prepare
    const { deps, store } = fakeDeps();
    const { requestId } = await submitRequest(deps, ALICE, validBody());
    const stale = await load(deps, requestId);
    await move(deps, stale, 'PENDING_APPROVAL', 'first');
    // Act
    const second = move(deps, stale, 'CANCELLED', 'second');
    // Assess
    await expect(second).rejects.toBeInstanceOf(TransitionRefusedError);
    expect((await store.events(requestId)).map((e) => e.to)).toEqual(['REQUESTED', 'PENDING_APPROVAL']);
  });

  it('tries again on a fresh read after a refusal, and gives up after the last try', async () => {
    // Prepare
    const { deps } = fakeDeps();
    const { requestId } = await submitRequest(deps, ALICE, validBody());
    let calls = 0;
    // Act
    const once = await withFreshRead(deps, requestId, async (r) => {
      calls++;
      if (calls === 1) throw new TransitionRefusedError('raced');
      return r.status;
    });
    const never = withFreshRead(
      deps,
      requestId,
      async () => {
        throw new TransitionRefusedError('always');
      },
      3,
    );
    // Assess
    expect(once).toBe('REQUESTED');
    expect(calls).toBe(2);
    await expect(never).rejects.toBeInstanceOf(TransitionRefusedError);
  });

  it('throws NotFoundError for an unknown request', async () => {
    // Prepare
    const { deps } = fakeDeps();
    // Act
    const missing = load(deps, 'req-none');
    // Assess
    await expect(missing).rejects.toBeInstanceOf(NotFoundError);
  });

  it('applies a patch the way the stores do: values set, null removes, undefined leaves', async () => {
    // Prepare
    const { deps } = fakeDeps();
    const { requestId } = await submitRequest(deps, ALICE, validBody());
    const request = { ...(await load(deps, requestId)), taskToken: 'old' };
    // Act
    const patched = applyPatch(request, { taskToken: null, expiresAt: '2026-11-22T10:15:00Z' });
    // Assess
    expect(patched).not.toHaveProperty('taskToken');
    expect(patched.expiresAt).toBe('2026-11-22T10:15:00Z');
    expect(patched.reason).toBe(request.reason);
  });
});
