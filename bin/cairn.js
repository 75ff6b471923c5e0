#!/usr/bin/env node
// The cairn command line. `npm run build` (also run by `npm ci`) compiles the sources into dist/src/
// and bundles the command line into dist/cli/ (tools/bundle.mjs): one file and a few chunks start in
// a fraction of the time Node takes to resolve ~180 separate modules. When the bundle is missing, or
// older than the last compile (a `tsc`-only build), the compiled sources run instead: never stale code.
import { statSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
const mtime = (rel) => {
  try {
    return statSync(new URL(rel, dist)).mtimeMs;
  } catch {
    return -1;
  }
};
const bundle = mtime('cli/main.js');
const entry = bundle >= 0 && bundle >= mtime('.tsbuildinfo') ? '../dist/cli/main.js' : '../dist/src/cli/main.js';
const { main } = await import(entry);
main(process.argv.slice(2));
