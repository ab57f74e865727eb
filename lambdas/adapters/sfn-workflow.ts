import { SendTaskSuccessCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Workflow } from '#core/ports.ts';

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
    await this.#sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  }
}
