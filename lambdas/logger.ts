/** Minimal structured logger: one JSON line per entry on stdout, which CloudWatch Logs indexes. */
export const log = {
  info(message: string, fields: Record<string, unknown> = {}): void {
    console.log(JSON.stringify({ level: 'INFO', message, ...fields }));
  },
  error(message: string, error: unknown, fields: Record<string, unknown> = {}): void {
    const e = error as { name?: string; message?: string; stack?: string };
    console.error(
      JSON.stringify({
        level: 'ERROR',
        message,
        error: { name: e?.name, message: e?.message, stack: e?.stack },
        ...fields,
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
  console.log(
    JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [['Broker']],
            Metrics: [{ Name: outcome, Unit: 'Count' }],
          },
        ],
      },
      Broker: broker,
      [outcome]: 1,
    }),
  );
}
