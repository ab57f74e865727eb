import { describe, expect, it } from 'vitest';
import { archiveEvent } from '#core/audit/evidence.ts';
import { ConfigError, ForbiddenError, NotFoundError } from '#core/errors.ts';
import { verifyRequestEvidence } from '#core/requests/verify-evidence.ts';
import { ALICE, BOB, fakeDeps, grantedRequest, MALLORY } from '../../../support/fakes.ts';
import { MemoryArchive } from '../../../support/memory-archive.ts';

/** A granted request, every event archived. */
async function archivedRequest() {
  const fake = fakeDeps();
  const archive = new MemoryArchive();
  const id = await grantedRequest(fake.deps);
  for (const event of await fake.store.events(id)) await archiveEvent(archive, event);
  return { ...fake, deps: { ...fake.deps, evidence: archive }, id };
}

describe('verifyRequestEvidence', () => {
  it('verifies for the requester and an approver of the rule', async () => {
    // Prepare
    const { deps, id } = await archivedRequest();
    // Act
    const byRequester = await verifyRequestEvidence(deps, ALICE, id);
    const byApprover = await verifyRequestEvidence(deps, BOB, id);
    // Assess
    expect(byRequester).toMatchObject({ ok: true, requestId: id, verifiedAgainst: 'archive' });
    expect(byApprover.ok).toBe(true);
  });

  it('refuses anyone else, even for a request deleted from the table', async () => {
    // Prepare
    const { deps, store, id } = await archivedRequest();
    // Act
    const before = verifyRequestEvidence(deps, MALLORY, id);
    await expect(before).rejects.toBeInstanceOf(ForbiddenError);
    store.requests.delete(id);
    store.eventLog.delete(id);
    const after = verifyRequestEvidence(deps, MALLORY, id);
    const byRequester = await verifyRequestEvidence(deps, ALICE, id);
    // Assess
    await expect(after).rejects.toBeInstanceOf(ForbiddenError);
    expect(byRequester).toMatchObject({
      ok: false,
      seq: 1,
      reason: expect.stringMatching(/not in the table/),
    });
  });

  it('answers NotFound for a request in neither the table nor the archive, and fails unwired', async () => {
    // Prepare
    const { deps } = await archivedRequest();
    const { evidence: _e, ...unwired } = deps;
    // Act
    const missing = verifyRequestEvidence(deps, ALICE, 'req-none');
    const noArchive = verifyRequestEvidence(unwired, ALICE, 'req-0001');
    // Assess
    await expect(missing).rejects.toBeInstanceOf(NotFoundError);
    await expect(noArchive).rejects.toBeInstanceOf(ConfigError);
  });
});
