// Bundles the command line into dist/cli/ with esbuild (issue 15): Node's ES module loader spent
// ~200 ms of every command resolving and linking ~170 separate files; one file (plus the chunks
// that commands load on first use) starts in a fraction of that. The sources and the tsc build in
// dist/src/ stay as they are: the library (`import 'cairn'`) and the tests use them.
//
// The worker process and the scan-ahead thread are entry points of their own, written beside the
// bundle under the same names, because the code finds them with `new URL('./worker-main.js',
// import.meta.url)`. bin/cairn.js falls back to dist/src/ when the bundle is missing or older than
// the tsc build, so a `tsc`-only build never runs stale code.
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
// Chunk names carry a content hash: clear the folder so no chunk of an older build stays behind.
rmSync(new URL('../dist/cli/', import.meta.url), { recursive: true, force: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: {
    main: 'src/cli/main.ts',
    'worker-main': 'src/runner/worker-main.ts',
    'scan-worker': 'src/store/scan-worker.ts',
  },
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // No source maps: Node reads them only with --enable-source-maps, and the error messages users
  // see are cairn's own (code, message, hint), not stack traces.
  chunkNames: 'chunk-[hash]',
  // Packages stay in node_modules when they read their own files at run time or are optional.
  external: ['ajv', 'ajv/*', 'fsevents'],
  // esbuild's ESM output has no `require`; some bundled CommonJS packages call it for built-ins.
  banner: { js: "import { createRequire as __cairnRequire } from 'node:module'; const require = __cairnRequire(import.meta.url);" },
  logLevel: 'warning',
  metafile: true,
});
// Which sources each output file holds: test/architecture.test.ts reads it to check that everyday
// commands load no recovery tool or scheduler code. Not shipped (package.json ships dist/cli/*.js).
writeFileSync(new URL('../dist/cli/meta.json', import.meta.url), JSON.stringify(result.metafile));
