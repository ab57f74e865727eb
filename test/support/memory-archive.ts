import { AlreadyArchivedError } from '#core/errors.ts';
import type { EvidenceArchive } from '#core/ports.ts';

/** An in-memory evidence archive that refuses overwrites (as Object Lock does), counting writes. */
export class MemoryArchive implements EvidenceArchive {
  readonly objects = new Map<string, string>();
  puts = 0;

  async put(key: string, body: string): Promise<void> {
    this.puts++;
    if (this.objects.has(key)) throw new AlreadyArchivedError(`${key} exists`);
    this.objects.set(key, body);
  }

  async get(key: string): Promise<string | undefined> {
    return this.objects.get(key);
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}
