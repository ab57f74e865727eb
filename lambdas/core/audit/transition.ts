import { NotFoundError, TransitionRefusedError } from '../errors.ts';
import type { Status } from '../lifecycle.ts';
import type { AccessRequest, RequestPatch } from '../model.ts';
import type { Deps } from '../ports.ts';
import { chainEvent } from './chain.ts';

/** Loads a request or throws NotFoundError. */
export async function load(deps: Pick<Deps, 'store'>, id: string): Promise<AccessRequest> {
  const request = await deps.store.get(id);
  if (!request) throw new NotFoundError(`request ${id} not found`);
  return request;
}

/**
 * Moves `request` to `to`, appending one chained event. The store refuses the write if the request changed
 * since it was read (status or version), so the caller decides whether to re-read and try again.
 */
export async function move(
  deps: Pick<Deps, 'store' | 'clock'>,
  request: AccessRequest,
  to: Status,
  actor: string,
  details?: Record<string, unknown>,
  patch?: RequestPatch,
): Promise<AccessRequest> {
  const at = deps.clock.now().toISOString();
  const event = chainEvent({
    requestId: request.id,
    seq: request.version + 1,
    from: request.status,
    to,
    at,
    actor,
    prevHash: request.lastHash,
    ...(details ? { details } : {}),
  });
  await deps.store.transition(request.id, {
    from: request.status,
    to,
    expectVersion: request.version,
    event,
    at,
    ...(patch ? { patch } : {}),
  });
  return {
    ...applyPatch(request, patch),
    status: to,
    version: event.seq,
    lastHash: event.hash,
    updatedAt: at,
  };
}

/** The request with a patch applied: set fields replace, `null` removes (as the stores do). */
export function applyPatch(request: AccessRequest, patch: RequestPatch | undefined): AccessRequest {
  if (!patch) return request;
  const next: Record<string, unknown> = { ...request };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key];
    else if (value !== undefined) next[key] = value;
  }
  return next as unknown as AccessRequest;
}

/**
 * Runs `attempt` on a fresh read, again whenever the store refuses it because of a concurrent write that
 * left the request in a state `attempt` still accepts. `attempt` throws its own error when it does not.
 */
export async function withFreshRead<T>(
  deps: Pick<Deps, 'store'>,
  id: string,
  attempt: (request: AccessRequest) => Promise<T>,
  tries = 5,
): Promise<T> {
  for (let i = 1; ; i++) {
    const request = await load(deps, id);
    try {
      return await attempt(request);
    } catch (error) {
      if (!(error instanceof TransitionRefusedError) || i >= tries) throw error;
    }
  }
}
