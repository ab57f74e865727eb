import { InvalidRequestError } from '#core/errors.ts';
import type { Deps } from '#core/ports.ts';
import {
  awaitApprovalStep,
  cleanupStep,
  compensateGrant,
  expireApprovalStep,
  grantStep,
  markRevokeFailed,
  revokeGrant,
  SYSTEM,
  validateStep,
} from '#core/workflow/steps.ts';
import { type AlarmingOutcome, log } from '../runtime/logger.ts';

/** What the state machine passes to each step: the request id, plus step-specific fields. */
export interface StepInput {
  readonly requestId?: unknown;
  readonly taskToken?: unknown;
  readonly action?: unknown;
  readonly error?: unknown;
  /** Early revoke (from the API function): who ended the grant, and why. */
  readonly actor?: unknown;
  readonly reason?: unknown;
}

function requestIdOf(input: StepInput): string {
  if (typeof input?.requestId !== 'string' || input.requestId.length === 0) {
    throw new InvalidRequestError('step input has no requestId');
  }
  return input.requestId;
}

/**
 * The workflow's Lambda handlers over injected deps. Each one is a thin mapping from the state machine's
 * payload to a core step; errors propagate by name so the state machine's Retry/Catch can match them.
 * `count` hears of the outcomes that page someone (a compensated grant, revoke retries exhausted): the
 * failure alarm counts these, so a request that merely closed early (cancelled, expired) never raises it.
 */
export function createStepHandlers(deps: Deps, count: (outcome: AlarmingOutcome) => void = () => {}) {
  return {
    validate: async (input: StepInput) => {
      const id = requestIdOf(input);
      return { requestId: id, ...(await validateStep(deps, id)) };
    },
    awaitApproval: async (input: StepInput) => {
      const id = requestIdOf(input);
      if (input.action === 'expire') return { requestId: id, ...(await expireApprovalStep(deps, id)) };
      if (typeof input.taskToken !== 'string')
        throw new InvalidRequestError('approval step input has no taskToken');
      await awaitApprovalStep(deps, id, input.taskToken);
      return { requestId: id };
    },
    grant: async (input: StepInput) => {
      const granted = await grantStep(deps, requestIdOf(input));
      // Break-glass announcements that failed twice: logged loudly (the grant stands; its review follows).
      for (const failure of granted.alertFailures ?? [])
        log.error(failure, undefined, { requestId: granted.requestId });
      return granted;
    },
    revoke: async (input: StepInput) => {
      const id = requestIdOf(input);
      switch (input.action) {
        case 'compensate': {
          const result = await compensateGrant(deps, id, input.error);
          count('GrantFailed');
          return { requestId: id, ...result };
        }
        case 'markFailed': {
          const result = await markRevokeFailed(deps, id, input.error);
          count('RevokeFailed');
          return { requestId: id, ...result };
        }
        case 'cleanup':
          return { requestId: id, ...(await cleanupStep(deps, id)) };
        case 'early': {
          if (typeof input.actor !== 'string' || input.actor.length === 0) {
            throw new InvalidRequestError('early revoke input has no actor');
          }
          const reason = typeof input.reason === 'string' ? input.reason : 'early revoke';
          return revokeGrant(deps, id, input.actor, reason);
        }
        default:
          return revokeGrant(deps, id, SYSTEM.expiry, 'expired');
      }
    },
  };
}
