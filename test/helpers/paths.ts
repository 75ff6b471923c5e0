// Where things are, seen from the compiled tests in dist/test/ (and dist/test/helpers/).
import { fileURLToPath } from 'node:url';

/** The repository root (the folder holding package.json). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The cairn command line. */
export const CAIRN_BIN = `${ROOT}bin/cairn.js`;
/** test/fixtures/ in the source tree (fixtures are not compiled). */
export const FIXTURES = `${ROOT}test/fixtures/`;
/** Compiled helper programs run as child processes by the tests. */
export const HELPERS_DIST = fileURLToPath(new URL('./', import.meta.url));
/** The bundled command line bin/cairn.js runs (CommonJS, exports `main(argv)`), when it is fresh. */
export const CLI_BUNDLE = `${ROOT}dist/cli/main.js`;
/** The compiled sources' command line (an ES module exporting `main(argv)`): bin/cairn.js's fallback. */
export const CLI_SOURCES = `${ROOT}dist/src/cli/main.js`;
/** The warm CLI server, compiled. */
export const CLI_SERVER = fileURLToPath(new URL('./cli-server.js', import.meta.url));
