import { removeSessionDeny } from '#core/credentials.ts';
import { InvalidRequestError } from '#core/errors.ts';
import type { Deps } from '#core/ports.ts';
import {
  awaitApprovalStep,
  compensateGrant,
  expireApprovalStep,
  grantStep,
  markRevokeFailed,
  revokeGrant,
  SYSTEM,
  validateStep,
} from '#core/workflow-steps.ts';

/** What the state machine passes to each step: the request id, plus step-specific fields. */
export interface StepInput {
  readonly requestId?: unknown;
  readonly taskToken?: unknown;
  readonly action?: unknown;
  readonly error?: unknown;
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
 */
export function createStepHandlers(deps: Deps) {
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
    grant: async (input: StepInput) => grantStep(deps, requestIdOf(input)),
    revoke: async (input: StepInput) => {
      const id = requestIdOf(input);
      switch (input.action) {
        case 'compensate':
          return { requestId: id, ...(await compensateGrant(deps, id, input.error)) };
        case 'markFailed':
          return { requestId: id, ...(await markRevokeFailed(deps, id, input.error)) };
        case 'cleanup':
          return { requestId: id, ...(await removeSessionDeny(deps, id)) };
        default:
          return revokeGrant(deps, id, SYSTEM.expiry, 'expired');
      }
    },
  };
}
