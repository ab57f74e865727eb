// local/engines/: the real engines of the local runtime (DynamoDB Local, the synthesized ASL runner).
import { randomUUID } from 'node:crypto';
import { ExecutionAbortedError, StateMachine } from 'aws-local-stepfunctions';
import { TaskClosedError } from '#core/errors.ts';
import type { ExecutionStatus, Workflow } from '#core/ports.ts';
import type { HandlerName } from '../../lib/broker-function.ts';
import type { SynthesizedWorkflow } from './asl.ts';

/** A broker Lambda handler as the runtime invokes it: the event in, the result out. */
export type LocalHandler = (event: never) => Promise<unknown>;

/** How one execution ended. */
export interface ExecutionRecord {
  readonly name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  readonly startedAt: number;
  endedAt?: number;
  error?: { readonly error: string; readonly cause: string };
  output?: unknown;
  readonly done: Promise<void>;
  /** Stops the execution (StopExecution): it ends ABORTED and its task token dies. */
  readonly abort: () => void;
}

/** Options of {@link LocalWorkflow}. */
export interface LocalWorkflowOptions {
  readonly workflow: SynthesizedWorkflow;
  readonly handlers: Readonly<Record<HandlerName, LocalHandler>>;
  /** Overrides every Retry interval (ms), so fault tests do not sit through real back-off. */
  readonly retryIntervalMs?: number;
  /** Called when an execution ends. */
  readonly onExecutionEnd?: (record: ExecutionRecord) => void;
}

/**
 * The `Workflow` port on this machine: runs the synthesized ASL with aws-local-stepfunctions, mapping each
 * Task state to the real handler in-process the way the Lambda service integration would: `lambda:invoke`
 * gets `Parameters.Payload` and answers `{Payload, StatusCode}`; `.waitForTaskToken` gets a fresh
 * `$$.Task.Token` and completes when `sendSuccess` is called with that token.
 */
export class LocalWorkflow implements Workflow {
  readonly #machine: StateMachine;
  readonly #opts: LocalWorkflowOptions;
  readonly #executions = new Map<string, ExecutionRecord>();
  readonly #callbacks = new Map<string, (output: Record<string, unknown>) => void>();

  constructor(opts: LocalWorkflowOptions) {
    this.#opts = opts;
    // The ASL is used as synthesized; only JSONPath validation is relaxed for `$$` context paths.
    this.#machine = new StateMachine(opts.workflow.definition as never, {
      validationOptions: { checkPaths: false, checkArn: false },
    });
  }

  /** Executions by name (= request id). */
  get executions(): ReadonlyMap<string, ExecutionRecord> {
    return this.#executions;
  }

  /** Resolves when every execution started so far has ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.#executions.values()].map((e) => e.done));
  }

  async start(requestId: string): Promise<void> {
    // Same name = same execution (Step Functions' idempotent StartExecution).
    if (this.#executions.has(requestId)) return;
    const token = `local-token-${randomUUID()}`;
    const overrides = this.#overrides(token);
    const execution = this.#machine.run(
      { requestId },
      {
        overrides: overrides as never,
        context: {
          Execution: {
            Id: `local:${requestId}`,
            Name: requestId,
            Input: { requestId },
            StartTime: new Date().toISOString(),
          },
          Task: { Token: token },
        },
      },
    );
    const record: ExecutionRecord = {
      name: requestId,
      status: 'RUNNING',
      startedAt: Date.now(),
      abort: () => execution.abort(),
      done: execution.result
        .then(
          (output) => {
            record.status = 'SUCCEEDED';
            record.output = output;
          },
          (error: { name?: string; message?: string; cause?: { name?: string; message?: string } }) => {
            if (error instanceof ExecutionAbortedError) {
              record.status = 'ABORTED';
              return;
            }
            // The library wraps the state's error (e.g. a Fail state's Error) in an ExecutionError.
            const inner = error?.name === 'ExecutionError' && error.cause ? error.cause : error;
            record.status = 'FAILED';
            record.error = { error: String(inner?.name ?? 'Error'), cause: String(inner?.message ?? '') };
          },
        )
        .finally(() => {
          record.endedAt = Date.now();
          this.#callbacks.delete(token);
          this.#opts.onExecutionEnd?.(record);
        }),
    };
    this.#executions.set(requestId, record);
  }

  /** Stops a running execution, as StopExecution does (tests: a workflow that is gone). */
  async stop(requestId: string): Promise<void> {
    const record = this.#executions.get(requestId);
    if (record?.status !== 'RUNNING') return;
    record.abort();
    await record.done;
  }

  async status(requestId: string): Promise<ExecutionStatus> {
    return this.#executions.get(requestId)?.status ?? 'NOT_FOUND';
  }

  async sendSuccess(taskToken: string, output: Record<string, unknown>): Promise<void> {
    const resolve = this.#callbacks.get(taskToken);
    if (!resolve) throw new TaskClosedError('Task Timed Out: the token is not waiting for a callback');
    this.#callbacks.delete(taskToken);
    resolve(output);
  }

  #overrides(token: string) {
    const { taskHandlers, callbackStates } = this.#opts.workflow;
    const taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    const retryIntervalOverrides: Record<string, number> = {};
    for (const [state, name] of Object.entries(taskHandlers)) {
      const handler = this.#opts.handlers[name] as (event: unknown) => Promise<unknown>;
      if (this.#opts.retryIntervalMs !== undefined)
        retryIntervalOverrides[state] = this.#opts.retryIntervalMs;
      if (callbackStates.includes(state)) {
        const timeoutSeconds = this.#opts.workflow.definition.States[state]?.TimeoutSeconds;
        taskResourceLocalHandlers[state] = async (input: unknown) => {
          const { Payload } = input as { Payload: unknown };
          const answered = new Promise<Record<string, unknown>>((resolve) =>
            this.#callbacks.set(token, resolve),
          );
          if (typeof timeoutSeconds === 'number') {
            // After the task's timeout the token is dead: a late SendTaskSuccess fails as in Step Functions.
            setTimeout(() => this.#callbacks.delete(token), timeoutSeconds * 1000).unref();
          }
          // Like Step Functions: the token is live from the moment the task starts, before the Lambda returns.
          await handler(Payload);
          return answered;
        };
      } else {
        taskResourceLocalHandlers[state] = async (input: unknown) => {
          const { Payload } = input as { Payload: unknown };
          return { StatusCode: 200, Payload: await handler(Payload) };
        };
      }
    }
    return { taskResourceLocalHandlers, retryIntervalOverrides };
  }
}
