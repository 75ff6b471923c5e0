// Bundles the command line into dist/cli/ with esbuild (issue 15): Node's ES module loader spent
// ~200 ms of every command resolving, linking and compiling ~180 separate files. One CommonJS file
// starts faster, and bin/cairn.js compiles it with V8's code cache, which Node 20
// offers only to scripts, not to ES modules. Modules the sources load with `await import()` stay lazy
// in the bundle: esbuild wraps each in an initializer that runs on first use.
//
// The sources and the tsc build in dist/src/ stay as they are: the library (`import 'cairn'`) and the
// tests use them. The worker process and the scan-ahead thread are entry points of their own, written
// beside the bundle under the names the code finds them by (`new URL('./worker-main.js',
// import.meta.url)`); dist/cli/package.json makes Node read the folder's .js files as CommonJS.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const out = new URL('../dist/cli/', import.meta.url);
// The dashboard's files (src/server/assets/) go beside the compiled server, as the package ships them.
cpSync(new URL('../src/server/assets/', import.meta.url), new URL('../dist/src/server/assets/', import.meta.url), { recursive: true });
// Clear the folder so nothing of an older build (a chunk, a code cache) stays behind.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeFileSync(new URL('package.json', out), '{ "type": "commonjs" }\n');

/**
 * yargs renders the whole help text of a command every time the command runs, in case its handler
 * asks for it later (command.js calls usage.cacheHelpMessage(); cairn's handlers never show help).
 * That rendering measures every cell's width: ~14% of a small `cairn status`. The bundle leaves the
 * call out; `--help` and error messages are rendered as before. The build fails if yargs changes.
 */
const HELP_CACHE_CALL = 'yargs.getInternalMethods().getUsageInstance().cacheHelpMessage();';
const skipHelpCache = {
  name: 'skip-yargs-help-cache',
  setup(b) {
    b.onLoad({ filter: /yargs[\\/]build[\\/]lib[\\/]command\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (text.split(HELP_CACHE_CALL).length !== 2) throw new Error(`${args.path}: expected one call of cacheHelpMessage (yargs changed): update tools/bundle.mjs`);
      return { contents: text.replace(HELP_CACHE_CALL, '/* help cache skipped by tools/bundle.mjs */'), loader: 'js' };
    });
  },
};

/**
 * yargs' factory calls version() with no argument, which looks for a package.json from the current
 * folder up to the root (a readdir of every folder on the way) to guess a version; cairn then sets
 * its own (src/cli/main.ts). The bundle passes false instead, which sets nothing and reads nothing.
 */
const GUESS_VERSION_CALL = 'yargs.version();';
const skipVersionGuess = {
  name: 'skip-yargs-version-guess',
  setup(b) {
    b.onLoad({ filter: /yargs[\\/]build[\\/]lib[\\/]yargs-factory\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (text.split(GUESS_VERSION_CALL).length !== 2) throw new Error(`${args.path}: expected one call of version() (yargs changed): update tools/bundle.mjs`);
      return { contents: text.replace(GUESS_VERSION_CALL, 'yargs.version(false); /* no package.json search: tools/bundle.mjs */'), loader: 'js' };
    });
  },
};

/**
 * string-width (yargs' help layout, three copies) builds an Intl.Segmenter and Unicode-property
 * regular expressions when it is loaded; `\\p{RGI_Emoji}` alone is ~170 M instructions, and all of
 * it ~20% of a small `cairn status`, which never measures a string. The bundle builds the module's
 * body on the first call instead. The build fails if string-width changes shape.
 */
const STRING_WIDTH_EXPORT = 'export default function stringWidth(';
const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(b) {
    b.onLoad({ filter: /string-width[\\/]index\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const lines = text.split('\n');
      const imports = lines.filter((l) => l.startsWith('import '));
      const body = lines.filter((l) => !l.startsWith('import ')).join('\n');
      if (body.split(STRING_WIDTH_EXPORT).length !== 2 || body.replace(STRING_WIDTH_EXPORT, '').includes('export ')) {
        throw new Error(`${args.path}: expected one default export, stringWidth (string-width changed): update tools/bundle.mjs`);
      }
      const contents = `${imports.join('\n')}\nlet made;\nfunction make() {\n${body.replace(STRING_WIDTH_EXPORT, 'function stringWidth(')}\nreturn stringWidth;\n}\nexport default function lazyStringWidth(input, options) { return (made ??= make())(input, options); }\n`;
      return { contents, loader: 'js' };
    });
  },
};

await build({
  absWorkingDir: root,
  entryPoints: {
    main: 'src/cli/main.ts',
    'worker-main': 'src/runner/worker-main.ts',
    'scan-worker': 'src/store/scan-worker.ts',
  },
  outdir: 'dist/cli',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // These stay in node_modules, loaded with their own require graph when first used: ajv on the
  // first validation; fastify and prom-client by `cairn serve` only (fastify's logger, pino, finds
  // files of its own at run time, which a bundle would break).
  external: ['ajv', 'ajv/*', 'fsevents', 'fastify', 'prom-client'],
  // CommonJS has no import.meta: the sources use import.meta.url to find files beside them
  // (the worker, package.json), which in the bundle is the bundle's own file.
  define: { 'import.meta.url': '__cairn_import_meta_url' },
  banner: { js: "var __cairn_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  // No source maps: Node reads them only with --enable-source-maps, and the errors users see are
  // cairn's own (code, message, hint). Whitespace and syntax are minified (a smaller file to read
  // and hash at every start); names are kept, so an internal error's stack still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  plugins: [skipHelpCache, skipVersionGuess, lazyStringWidth],
});
