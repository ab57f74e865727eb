/**
 * The sweeper, the third layer that ends grants (after the IAM expiry condition and the workflow): it
 * finds requests that still hold a grant some time after their expiry — the workflow's revoke failed
 * (REVOKE_FAILED) or never ran — and revokes them with the same idempotent, verified revoke.
 */
import { BrokerError } from './errors.ts';
import { isoSeconds } from './policy.ts';
import type { Deps } from './ports.ts';
import { revokeGrant } from './workflow-steps.ts';

/** Actor of the sweeper's events. */
export const SWEEPER = 'system:sweeper';

/** Options of one sweep. */
export interface SweepOptions {
  /**
   * Leave grants alone until this long after expiresAt, so the sweeper does not race the workflow's own
   * revoke (which runs at expiresAt and retries for a few minutes). @default 900
   */
  readonly graceSeconds?: number;
  /** At most this many grants per sweep. @default 50 */
  readonly limit?: number;
}

/** What one sweep did. */
export interface SweepReport {
  readonly checked: number;
  readonly revoked: readonly string[];
  readonly failed: readonly { readonly requestId: string; readonly error: string }[];
}

/** Revokes every grant still held `graceSeconds` after its expiry. One failure does not stop the others. */
export async function sweepExpiredGrants(deps: Deps, opts: SweepOptions = {}): Promise<SweepReport> {
  // Same format as expiresAt (ISO to the second): the index compares the strings.
  const before = isoSeconds(new Date(deps.clock.now().getTime() - (opts.graceSeconds ?? 900) * 1000));
  const due = await deps.store.findExpiredGrants(before, opts.limit ?? 50);
  const revoked: string[] = [];
  const failed: { requestId: string; error: string }[] = [];
  for (const request of due) {
    try {
      const result = await revokeGrant(deps, request.id, SWEEPER, 'still held after expiry: swept');
      if (!result.alreadyRevoked) revoked.push(request.id);
    } catch (error) {
      if (!(error instanceof BrokerError) && !(error instanceof Error)) throw error;
      failed.push({ requestId: request.id, error: `${error.name}: ${error.message}` });
    }
  }
  return { checked: due.length, revoked, failed };
}
