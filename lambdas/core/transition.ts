import { chainEvent } from './audit-chain.ts';
import { NotFoundError, TransitionRefusedError } from './errors.ts';
import type { Status } from './lifecycle.ts';
import type { AccessRequest, RequestPatch } from './model.ts';
import type { Deps } from './ports.ts';

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
  const { taskToken: oldToken, ...rest } = request;
  const token = patch?.taskToken === undefined ? oldToken : (patch.taskToken ?? undefined);
  return {
    ...rest,
    ...(patch?.approvals ? { approvals: patch.approvals } : {}),
    ...(patch?.expiresAt ? { expiresAt: patch.expiresAt } : {}),
    ...(token ? { taskToken: token } : {}),
    status: to,
    version: event.seq,
    lastHash: event.hash,
    updatedAt: at,
  };
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
