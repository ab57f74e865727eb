/**
 * Fields every log line of the current invocation carries (the Lambda and broker request ids, the cold
 * start), set by the entries' middleware (`middleware.ts`). One module-level context is enough: a Lambda
 * execution environment runs one invocation at a time. The local runtime sets none, so its lines are as
 * they were.
 */
let context: Readonly<Record<string, unknown>> = {};

/** The per-invocation log context (the middleware sets it before the handler and clears it after). */
export const logContext = {
  set(fields: Readonly<Record<string, unknown>>): void {
    context = { ...fields };
  },
  clear(): void {
    context = {};
  },
  get(): Readonly<Record<string, unknown>> {
    return context;
  },
};

/** The invocation's context under the entry's own fields (an undefined field leaves the context's). */
function withContext(fields: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...context };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) merged[key] = value;
  return merged;
}

/** Minimal structured logger: one JSON line per entry on stdout, which CloudWatch Logs indexes. */
export const log = {
  info(message: string, fields: Record<string, unknown> = {}): void {
    console.log(JSON.stringify({ level: 'INFO', message, ...withContext(fields) }));
  },
  error(message: string, error: unknown, fields: Record<string, unknown> = {}): void {
    const e = error as { name?: string; message?: string; stack?: string };
    console.error(
      JSON.stringify({
        level: 'ERROR',
        message,
        error: { name: e?.name, message: e?.message, stack: e?.stack },
        ...withContext(fields),
      }),
    );
  },
};

/** The workflow outcomes someone must look at: the alarm counts these, not every failed execution. */
export type AlarmingOutcome = 'GrantFailed' | 'RevokeFailed';

/** CloudWatch namespace of the broker's own metrics (EMF; the dimension is the broker's stack name). */
export const METRICS_NAMESPACE = 'JitBroker';

/**
 * Counts one outcome as a CloudWatch metric through the embedded metric format: one JSON line that
 * CloudWatch Logs turns into a data point, no PutMetricData call and no extra permission.
 */
export function countOutcome(outcome: AlarmingOutcome, broker: string): void {
  putMetric(outcome, 1, broker);
}

/** The broker's gauges: break-glass reviews overdue (the review function reports it every run). */
export type BrokerGauge = 'BreakGlassReviewsOverdue';

/** Reports a gauge's current value (EMF, like {@link countOutcome}). */
export function reportGauge(gauge: BrokerGauge, value: number, broker: string): void {
  putMetric(gauge, value, broker);
}

function putMetric(name: string, value: number, broker: string): void {
  console.log(
    JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [['Broker']],
            Metrics: [{ Name: name, Unit: 'Count' }],
          },
        ],
      },
      ...context,
      Broker: broker,
      [name]: value,
    }),
  );
}
