#!/usr/bin/env node
// `jit` in this repository (after `npm ci`): runs the TypeScript source through tsx. The packaged CLI is
// the self-contained dist/jit.mjs that `npm run build:cli` writes.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
