/**
 * Per-state event logs of the local runtime's executions, from aws-local-stepfunctions itself: every
 * `StateMachine.run` returns an `eventLogs` async generator (StateEntered, StateExited, StateRetried,
 * StateCaught, Execution*). `LocalWorkflow` does not read it, so the bench taps `run` on the library's
 * prototype (in this process only, without touching local/) and drains each root execution's log.
 */
import { StateMachine } from 'aws-local-stepfunctions';

/** What one execution did, state by state. */
export interface ExecutionTrace {
  readonly name: string;
  /** States entered, in order (each one a billed transition). */
  readonly entered: string[];
  /** Retry attempts (each one a billed transition too), by state. */
  readonly retried: string[];
  readonly startedAt: number;
  endedAt?: number;
  end?: string;
}

/** Billed state transitions of a trace: states entered + Retry attempts. */
export const transitionsOf = (t: ExecutionTrace) => t.entered.length + t.retried.length;

const traces = new Map<string, ExecutionTrace>();
const draining = new Set<Promise<void>>();
let installed = false;

type RunOptions = { context?: { Execution?: { Name?: string } }; _rootAbortSignal?: unknown };
type Run = (input: unknown, options?: RunOptions) => { eventLogs: AsyncGenerator<unknown> };

async function drain(log: AsyncGenerator<unknown>, trace: ExecutionTrace): Promise<void> {
  for await (const raw of log) {
    const event = raw as { type: string; timestamp: number; state?: { name: string } };
    if (event.type === 'StateEntered' && event.state) trace.entered.push(event.state.name);
    else if (event.type === 'StateRetried' && event.state) trace.retried.push(event.state.name);
    else if (event.type.startsWith('Execution') && event.type !== 'ExecutionStarted') {
      trace.endedAt = event.timestamp;
      trace.end = event.type;
    }
  }
}

/** Installs the tap (once) and returns the traces by execution name (= request id). */
export function traceExecutions(): ReadonlyMap<string, ExecutionTrace> {
  if (installed) return traces;
  installed = true;
  const proto = StateMachine.prototype as unknown as { run: Run };
  const original = proto.run;
  proto.run = function run(this: unknown, input, options) {
    const execution = original.call(this, input, options);
    const name = options?.context?.Execution?.Name;
    // Map/Parallel iterations run nested machines whose logs the library forwards itself: leave them.
    if (name && options?._rootAbortSignal === undefined) {
      const trace: ExecutionTrace = { name, entered: [], retried: [], startedAt: Date.now() };
      traces.set(name, trace);
      const p = drain(execution.eventLogs, trace).finally(() => draining.delete(p));
      draining.add(p);
    }
    return execution;
  };
  return traces;
}

/** Waits until the log of `name` is fully drained (the execution has ended). */
export async function traceOf(name: string, timeoutMs = 120_000): Promise<ExecutionTrace> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = traces.get(name);
    if (t?.end) return t;
    if (Date.now() > deadline) throw new Error(`no finished trace for execution ${name}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
