import { describe, expect, it, vi } from 'vitest';
import type { AuditStore } from '#core/ports.ts';
import { composeDeps } from '#lambdas/runtime/compose.ts';
import { MemoryAuditStore, RecordingWorkflow, testConfig } from '../../support/fakes.ts';

describe('composeDeps', () => {
  it('leaves the ports a function was not given unwired: a call is refused as a wiring bug', async () => {
    // Prepare
    const deps = composeDeps({ config: testConfig(), store: new MemoryAuditStore() });
    // Act + Assess
    await expect(
      deps.iam.listPolicies({ account: '111122223333', type: 'role', name: 'app-reader' }),
    ).rejects.toThrow('port iam.listPolicies is not wired in this Lambda');
    await expect(deps.workflow.sendSuccess('token', {})).rejects.toThrow('port workflow.sendSuccess');
    await expect(deps.revocations.revoke('req-1', 'me', 'why')).rejects.toThrow('port revocations.revoke');
  });

  it('tells nobody of pending requests by default, and uses the real clock and fresh ids', async () => {
    // Prepare
    const deps = composeDeps({ config: testConfig(), store: new MemoryAuditStore() });
    // Act
    const before = Date.now();
    const now = deps.clock.now().getTime();
    // Assess
    await expect(deps.approvals.requestPending({} as never)).resolves.toBeUndefined();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(deps.ids.requestId()).not.toBe(deps.ids.requestId());
  });

  it('wraps the store once and passes the given ports through', async () => {
    // Prepare
    const store = new MemoryAuditStore();
    const workflow = new RecordingWorkflow();
    const wrapped = { ...store } as unknown as AuditStore;
    const wrapStore = vi.fn(() => wrapped);
    const approvals = { requestPending: vi.fn(async () => {}) };
    // Act
    const deps = composeDeps({ config: testConfig(), store, workflow, approvals, wrapStore });
    // Assess
    expect(wrapStore).toHaveBeenCalledExactlyOnceWith(store);
    expect(deps.store).toBe(wrapped);
    expect(deps.workflow).toBe(workflow);
    expect(deps.approvals).toBe(approvals);
  });
});
