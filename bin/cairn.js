#!/usr/bin/env node
// The cairn command line. `npm run build` (also run by `npm ci`) compiles the sources into dist/src/
// and bundles the command line into one CommonJS file, dist/cli/main.js (tools/bundle.mjs). This file
// runs the bundle with V8's code cache, so a command does not compile cairn again each time it
// starts (Node 20 has no compile cache of its own). When the bundle is missing, older than the last
// compile (a `tsc`-only build), or CAIRN_NO_BUNDLE=1 is set, the compiled sources run instead.
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { crc32 } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url);
const mtime = (rel) => {
  try {
    return statSync(new URL(rel, dist)).mtimeMs;
  } catch {
    return -1;
  }
};
const bundled = process.env.CAIRN_NO_BUNDLE !== '1' && mtime('cli/main.js') >= 0 && mtime('cli/main.js') >= mtime('.tsbuildinfo');
const { main } = bundled ? runBundle(fileURLToPath(new URL('cli/main.js', dist))) : await import('../dist/src/cli/main.js');
main(process.argv.slice(2));

/**
 * Loads the bundle as Node would load a CommonJS file, compiled from the code cache beside it when
 * that cache was made from exactly this source by this Node. The cache file is 'cairn-cc', the crc32
 * of the source, the crc32 of the data, then V8's data: V8 checks only the source's length, and a
 * damaged cache must never run, so both are checked here first. A missing or rejected cache is
 * written when the command ends (atomically; a read-only install simply goes without).
 */
function runBundle(file) {
  const bytes = readFileSync(file);
  const source = bytes.toString('utf8');
  const cacheFile = `${file}.${process.version}.cache`;
  const sourceCrc = crc32(bytes);
  let cachedData;
  try {
    const c = readFileSync(cacheFile);
    const data = c.subarray(16);
    if (c.toString('latin1', 0, 8) === 'cairn-cc' && c.readUInt32BE(8) === sourceCrc && c.readUInt32BE(12) === crc32(data)) cachedData = data;
  } catch {
    // no cache yet
  }
  const script = new Script(Module.wrap(source), { filename: file, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        const data = script.createCachedData();
        const head = Buffer.alloc(16);
        head.write('cairn-cc', 0, 'latin1');
        head.writeUInt32BE(sourceCrc, 8);
        head.writeUInt32BE(crc32(data), 12);
        writeFileSync(tmp, Buffer.concat([head, data]));
        renameSync(tmp, cacheFile);
      } catch {
        try {
          unlinkSync(tmp);
        } catch {
          // nothing was written
        }
      }
    });
  }
  const module = { exports: {}, id: file, filename: file, loaded: false, children: [], paths: [] };
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}
