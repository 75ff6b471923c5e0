// The bundled command line (tools/bundle.mjs, bin/cairn.js): it runs from V8's code cache, and a
// cache that is damaged, cut short or made from another source is never used, only replaced. Each
// test works on a copy of bin/ and dist/cli/ inside the repository (so node_modules resolves), never
// on the copy other tests are running.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from './helpers/paths.js';

const copy = join(ROOT, 'tmp', `bundle-test-${process.pid}`);
const cacheFile = join(copy, 'dist', 'cli', `main.js.${process.version}.cache`);
const state = join(copy, 'state');
let reference: unknown;

function cairn(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(copy, 'bin', 'cairn.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, CAIRN_STATE_DIR: undefined, CAIRN_NO_BUNDLE: undefined, ...env }, timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The header of the cache file: its tag and whether both crcs it holds are those of now. */
function header(): string {
  return readFileSync(cacheFile).toString('latin1', 0, 8);
}

before(() => {
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(join(copy, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(copy, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'cli'), join(copy, 'dist', 'cli'), { recursive: true, filter: (f) => !f.endsWith('.cache') && !f.endsWith('.tmp') });
  symlinkSync(join(ROOT, 'dist', 'src'), join(copy, 'dist', 'src'));
  cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
  writeFileSync(join(copy, 'dist', '.tsbuildinfo'), '{}');
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(join(copy, 'dist', '.tsbuildinfo'), old, old);
  const r = cairn(['init', '--state-dir', state]);
  assert.equal(r.code, 0, r.stderr);
});

after(() => rmSync(copy, { recursive: true, force: true }));

describe('the bundled command line', () => {
  it('writes its code cache after the first command and runs from it afterwards', () => {
    rmSync(cacheFile, { force: true });
    const first = cairn(['status', '--json', '--state-dir', state]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(header(), 'cairn-cc');
    const second = cairn(['status', '--json', '--state-dir', state]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), JSON.parse(first.stdout));
    reference = JSON.parse(first.stdout);
    assert.deepEqual(readdirSync(join(copy, 'dist', 'cli')).filter((f) => f.endsWith('.tmp')), [], 'no temporary cache file is left behind');
  });

  for (const [name, damage] of [
    ['a flipped byte in the cached code', (b: Buffer) => { b[b.length >> 1]! ^= 0x10; return b; }],
    ['a cache cut short', (b: Buffer) => b.subarray(0, 40)],
    ['a cache of another source (its source crc differs)', (b: Buffer) => { b.writeUInt32BE((b.readUInt32BE(8) + 1) >>> 0, 8); return b; }],
    ['an empty cache file', () => Buffer.alloc(0)],
    ['a file that is not a cache at all', () => Buffer.from('{"hello": "world"}\n')],
  ] as const) {
    it(`ignores ${name}, answers as before and writes a good cache again`, () => {
      if (!existsSync(cacheFile)) assert.equal(cairn(['--version']).code, 0);
      const good = readFileSync(cacheFile);
      writeFileSync(cacheFile, damage(Buffer.from(good)));
      const r = cairn(['status', '--json', '--state-dir', state]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.deepEqual(JSON.parse(r.stdout), reference);
      const again = readFileSync(cacheFile);
      assert.equal(again.toString('latin1', 0, 8), 'cairn-cc', 'the cache is written again');
      assert.equal(again.readUInt32BE(8), good.readUInt32BE(8), 'for this source');
    });
  }

  it('runs the compiled sources when the bundle is older than the last compile, or when told to', () => {
    const v = cairn(['--version']);
    for (const env of [{ CAIRN_NO_BUNDLE: '1' }, {}]) {
      if (Object.keys(env).length === 0) utimesSync(join(copy, 'dist', '.tsbuildinfo'), new Date(), new Date(Date.now() + 60_000));
      // A missing dist/src would make the fallback fail: proof it is the path taken.
      const r = cairn(['--version', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), v.stdout.trim());
      rmSync(join(copy, 'dist', 'src'));
      const gone = cairn(['--version'], env);
      assert.notEqual(gone.code, 0, 'without dist/src the compiled sources cannot run: the bundle was not used');
      symlinkSync(join(ROOT, 'dist', 'src'), join(copy, 'dist', 'src'));
    }
  });
});
