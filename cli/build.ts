/**
 * `npm run build:cli`: bundles `jit` into one self-contained ESM file, `dist/jit.mjs`, that runs on
 * Node ≥ 20 with nothing installed (`node dist/jit.mjs …`, or copy it onto the PATH as `jit`).
 */
import { chmodSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const outfile = resolve(root, 'dist/jit.mjs');

await build({
  entryPoints: [resolve(root, 'cli/main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  // The entry's own shebang is kept by esbuild; the SDK's CommonJS modules need a `require` in ESM.
  banner: {
    js: "import { createRequire as __jitRequire } from 'node:module'; const require = __jitRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
console.log(`wrote ${outfile} (${Math.round(statSync(outfile).size / 1024)} KiB)`);
