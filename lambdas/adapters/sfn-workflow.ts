import {
  DescribeExecutionCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { TaskClosedError } from '#core/errors.ts';
import type { ExecutionStatus, Workflow } from '#core/ports.ts';

/** Step Functions' answers for a token no task waits for any more (timed out, answered, stopped). */
const CLOSED_TOKEN_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/** Workflow on Step Functions: one Standard execution per request, named by the request id. */
export class SfnWorkflow implements Workflow {
  readonly #sfn: SFNClient;
  readonly #stateMachineArn: string;

  constructor(sfn: SFNClient, stateMachineArn: string) {
    this.#sfn = sfn;
    this.#stateMachineArn = stateMachineArn;
  }

  async start(requestId: string): Promise<void> {
    try {
      await this.#sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name: requestId,
          input: JSON.stringify({ requestId }),
        }),
      );
    } catch (error) {
      // Same name and same input: Step Functions treats the start as already done (idempotent).
      if ((error as { name?: string })?.name === 'ExecutionAlreadyExists') return;
      throw error;
    }
  }

  async sendSuccess(taskToken: string, output: Record<string, unknown>): Promise<void> {
    try {
      await this.#sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    } catch (error) {
      const e = error as { name?: string; message?: string };
      if (CLOSED_TOKEN_ERRORS.has(e?.name ?? '')) throw new TaskClosedError(`${e.name}: ${e.message ?? ''}`);
      throw error;
    }
  }

  async status(requestId: string): Promise<ExecutionStatus> {
    try {
      const out = await this.#sfn.send(
        new DescribeExecutionCommand({ executionArn: executionArn(this.#stateMachineArn, requestId) }),
      );
      return (out.status ?? 'RUNNING') as ExecutionStatus;
    } catch (error) {
      if ((error as { name?: string })?.name === 'ExecutionDoesNotExist') return 'NOT_FOUND';
      throw error;
    }
  }
}

/**
 * The ARN of a Standard execution: the state machine's ARN with `stateMachine` replaced by `execution`
 * and the execution name appended.
 */
export function executionArn(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}
