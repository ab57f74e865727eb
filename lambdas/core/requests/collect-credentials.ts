/**
 * `GET /requests/{id}/credentials`: the requester collects the STS credentials of a credentials grant,
 * once, in the `credential_process` format.
 */
import { load, move } from '../audit/transition.ts';
import { ConflictError, ForbiddenError, GoneError, TransitionRefusedError } from '../errors.ts';
import type { Deps, SessionCredentials } from '../ports.ts';

/** What `GET /requests/{id}/credentials` returns: the `credential_process` format (Version 1). */
export type CollectedCredentials = { readonly Version: 1 } & SessionCredentials;

/**
 * `GET /requests/{id}/credentials`: the requester, once. The sealed credentials are removed by the same
 * conditional write that records the collection, so two concurrent collections cannot both succeed.
 */
export async function collectCredentials(
  deps: Deps,
  caller: string,
  id: string,
): Promise<CollectedCredentials> {
  const request = await load(deps, id);
  if (request.requester !== caller)
    throw new ForbiddenError('only the requester can collect the credentials');
  if (request.kind !== 'credentials') {
    throw new ConflictError('NotGranted', 'this is a policy grant; it has no credentials to collect');
  }
  if (request.credentialsCollectedAt) {
    throw new GoneError(`the credentials were collected at ${request.credentialsCollectedAt}`);
  }
  if (request.status !== 'GRANTED' || !request.sealedCredentials) {
    if (request.status === 'REVOKED' || request.status === 'REVOKE_FAILED') {
      throw new GoneError(`the grant is ${request.status}; its credentials were discarded`);
    }
    throw new ConflictError('NotGranted', `request is ${request.status}, not GRANTED`);
  }
  const credentials = JSON.parse(await deps.vault.open(id, request.sealedCredentials)) as SessionCredentials;
  try {
    await move(
      deps,
      request,
      'GRANTED',
      caller,
      { event: 'CREDENTIALS_COLLECTED' },
      { sealedCredentials: null, credentialsCollectedAt: deps.clock.now().toISOString() },
    );
  } catch (error) {
    if (error instanceof TransitionRefusedError)
      throw new GoneError('the credentials were collected or discarded meanwhile');
    throw error;
  }
  return { Version: 1, ...credentials };
}
