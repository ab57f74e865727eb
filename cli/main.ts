#!/usr/bin/env node
import { run } from './program.ts';

/** `jit`: exits once stdout and stderr have flushed (a pipe may still hold the output). */
const code = await run();
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
