import { addDays, buildDigests, type DigestOutcome, dayOf } from '#core/audit/digest.ts';
import { archiveEvent } from '#core/audit/evidence.ts';
import type { AuditEvent } from '#core/model.ts';
import { DirectoryEvidenceArchive } from './fakes/evidence-archive.ts';

/**
 * The local stand-in for the table's stream and the evidence function: every event the store accepted is
 * archived by the same writer, asynchronously (as the stream is), into a directory refusing overwrites.
 * Records each event's lag (event time → object written).
 */
export class LocalEvidence {
  readonly archive: DirectoryEvidenceArchive;
  /** Milliseconds from each event's `at` to its object being written, in write order. */
  readonly lagMs: number[] = [];
  readonly #pending = new Set<Promise<void>>();
  readonly #log: (line: string) => void;

  constructor(archive: DirectoryEvidenceArchive, log: (line: string) => void) {
    this.archive = archive;
    this.#log = log;
  }

  /** An archive under `<dataDir>/evidence`, or in a temporary directory. */
  static async open(dataDir: string | undefined, log: (line: string) => void): Promise<LocalEvidence> {
    return new LocalEvidence(await DirectoryEvidenceArchive.open(dataDir), log);
  }

  /** Archives `event` in the background, as the stream would deliver it. */
  record(event: AuditEvent): void {
    const done = archiveEvent(this.archive, event).then(
      () => void this.lagMs.push(Date.now() - Date.parse(event.at)),
      (error: unknown) => this.#log(`${event.requestId}  evidence not archived: ${(error as Error).message}`),
    );
    this.#pending.add(done);
    void done.finally(() => this.#pending.delete(done));
  }

  /** Resolves when every event recorded so far is archived (or failed). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  /**
   * Builds the daily digests of the days that are over (through yesterday, UTC), as the scheduled digest
   * function does in AWS; the local runtime runs it from the sweeper's timer. Idempotent.
   */
  async digest(now: Date = new Date()): Promise<DigestOutcome[]> {
    await this.settled();
    return buildDigests(this.archive, addDays(dayOf(now), -1));
  }
}
