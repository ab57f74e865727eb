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
