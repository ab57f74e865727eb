import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { AlreadyArchivedError } from '#core/errors.ts';
import type { EvidenceArchive } from '#core/ports.ts';

/**
 * The evidence archive on this machine: one file per key under `root`, created exclusively (`wx`), so an
 * existing object is never overwritten, as S3 Object Lock refuses it.
 */
export class DirectoryEvidenceArchive implements EvidenceArchive {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** An archive in `<dataDir>/evidence`, or in a fresh temporary directory. */
  static async open(dataDir?: string): Promise<DirectoryEvidenceArchive> {
    const root = dataDir ? join(dataDir, 'evidence') : await mkdtemp(join(tmpdir(), 'jit-evidence-'));
    await mkdir(root, { recursive: true });
    return new DirectoryEvidenceArchive(root);
  }

  async put(key: string, body: string): Promise<void> {
    const file = this.#file(key);
    await mkdir(dirname(file), { recursive: true });
    try {
      await writeFile(file, body, { flag: 'wx', mode: 0o444 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyArchivedError(`${key} exists`);
      throw error;
    }
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.#file(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const files = await readdir(this.root, { recursive: true, withFileTypes: true }).catch(() => []);
    return files
      .filter((f) => f.isFile())
      .map((f) => relative(this.root, join(f.parentPath, f.name)).split(sep).join('/'))
      .filter((key) => key.startsWith(prefix))
      .sort();
  }

  #file(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new Error(`bad key ${key}`);
    return join(this.root, ...key.split('/'));
  }
}
