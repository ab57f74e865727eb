import pc from 'picocolors';
import { oneLine } from './errors.ts';

/** A stream `jit` writes to (process.stdout / process.stderr, or a fake in tests). */
export interface OutStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The colours of picocolors, or the identity functions when colour is off. */
export type Colours = ReturnType<typeof pc.createColors>;

/** Colour only on a terminal, and never with `NO_COLOR` set (https://no-color.org: any non-empty value). */
export function colourEnabled(stream: OutStream, env: Env = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

/**
 * Where `jit` writes: results on stdout (JSON with `--json`, for machines), progress and errors on stderr,
 * one line per error.
 */
export class Output {
  readonly json: boolean;
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  /** Colours for stdout. */
  readonly c: Colours;
  /** Colours for stderr. */
  readonly ce: Colours;

  constructor(opts: { json?: boolean; stdout?: OutStream; stderr?: OutStream; env?: Env } = {}) {
    this.json = opts.json ?? false;
    this.stdout = opts.stdout ?? process.stdout;
    this.stderr = opts.stderr ?? process.stderr;
    const env = opts.env ?? process.env;
    this.c = pc.createColors(colourEnabled(this.stdout, env));
    this.ce = pc.createColors(colourEnabled(this.stderr, env));
  }

  /** True when stderr is a terminal (spinners and in-place updates only then). */
  get interactive(): boolean {
    return this.stderr.isTTY === true;
  }

  /**
   * A command's result: `data` as JSON with `--json`, else the human text `human()` makes. Each goes to
   * stdout, ending in a newline.
   */
  result(data: unknown, human: () => string): void {
    const text = this.json ? JSON.stringify(data, null, 2) : human();
    if (text !== '') this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** A progress line on stderr (kept even with `--json`, which only shapes stdout). */
  progress(line: string): void {
    this.stderr.write(`${line}\n`);
  }

  /** One error line on stderr: `jit: <message>`. */
  error(message: string): void {
    this.stderr.write(`${this.ce.red('jit:')} ${oneLine(message)}\n`);
  }
}

/** Rows as left-aligned columns separated by two spaces (the last column is not padded). */
export function table(rows: readonly (readonly string[])[], header?: readonly string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const row of all) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
