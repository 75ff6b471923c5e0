// cairn as a library: `npm pack` ships the built API with its type declarations (and no tests), and
// a fresh project that installs the tarball imports it by name, runs it, and type-checks against it.
// No network: the dependencies come from npm's cache, where `npm ci` of this checkout put them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/paths.js';
import { scratch } from './helpers/tmp.js';

function sh(cmd: string, args: string[], cwd: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 180_000, env: { ...process.env, CAIRN_STATE_DIR: undefined, npm_config_audit: 'false', npm_config_fund: 'false' } });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const told = (r: { code: number | null; out: string; err: string }) => `exit ${r.code}\n--- stdout\n${r.out}\n--- stderr\n${r.err}`;

/**
 * The project's package-lock: this checkout's locked runtime dependencies (the versions `npm ci` put
 * in npm's cache) under cairn from the tarball. With it, `npm install --offline` resolves every
 * package by its integrity from the cache; without one, npm asks the registry for each package's
 * metadata, which the cache does not hold.
 */
function lockFor(tarball: string): unknown {
  const own = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; engines: unknown };
  const packages: Record<string, unknown> = {
    '': { name: 'probe', version: '1.0.0', dependencies: { cairn: `file:${tarball}` } },
    'node_modules/cairn': { version: pkg.version, resolved: `file:${tarball}`, license: 'MIT', dependencies: pkg.dependencies, bin: { cairn: 'bin/cairn.js' }, engines: pkg.engines },
  };
  for (const [k, v] of Object.entries(own.packages)) if (k !== '' && !v.dev) packages[k] = v;
  return { name: 'probe', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

const PROBE_MJS = `
import { init, submit, status, openState, prune, VERSION, CairnError } from 'cairn';
import { writeFileSync } from 'node:fs';
const stateDir = 'st';
const created = init({ stateDir });
writeFileSync('spec.json', JSON.stringify({ id: 'lib', tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true', depends_on: ['a'] }] }));
const submitted = await submit({ stateDir, spec: 'spec.json' });
const st = await status({ stateDir });
const handle = await openState({ stateDir });
const view = { seq: handle.seq, source: handle.source, b: handle.state.task('lib', 'b')?.state };
await handle.close();
const pruned = await prune({ stateDir, dryRun: true });
let refused = null;
try { await submit({ stateDir, spec: 'spec.json' }); } catch (e) { refused = e instanceof CairnError ? e.code : String(e); }
console.log(JSON.stringify({ VERSION, created: created.created, submitted: submitted.queued, workstreams: st.workstreams.map((w) => [w.id, w.state]), view, pruned: pruned.removed.length, refused }));
`;

const PROBE_TS = `
import { init, submit, status, openState, VERSION, type StateHandle, type SubmitResult } from 'cairn';
const created: boolean = init({ stateDir: 'st' }).created;
const r: SubmitResult = await submit({ stateDir: 'st', spec: 'spec.json' });
const queued: string[] = r.queued;
const ids: string[] = (await status({ stateDir: 'st' })).workstreams.map((w) => w.id);
const h: StateHandle = await openState({ stateDir: 'st' });
const state: string | undefined = h.state.task('lib', 'a')?.state;
const v: string = VERSION;
// @ts-expect-error: the options are an object
await status('st');
console.log(created, queued, ids, state, v);
`;

describe('cairn as a package', () => {
  it('packs the built API with its declarations, installs offline in a fresh project, and imports, runs and type-checks by name', () => {
    const dir = scratch();
    const pack = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
    assert.equal(pack.code, 0, told(pack));
    const [info] = JSON.parse(pack.out) as { filename: string; files: { path: string }[] }[];
    const shipped = info!.files.map((f) => f.path);
    for (const f of ['package.json', 'README.md', 'bin/cairn.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/cli/main.js', 'dist/cli/worker-main.js', 'dist/cli/scan-worker.js', 'dist/cli/package.json', 'scripts/prune', 'schemas/config.schema.json']) {
      assert.ok(shipped.includes(f), `the package ships ${f}`);
    }
    const unwanted = shipped.filter((f) => /^(dist\/)?(test|bench)\//.test(f) || f.startsWith('src/') || f.endsWith('.map') || f.startsWith('node_modules/'));
    assert.deepEqual(unwanted, [], 'no tests, sources, maps or dependencies in the package');

    const tarball = join(dir, info!.filename);
    const project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'probe', version: '1.0.0', private: true, type: 'module' }));
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lockFor(tarball)));
    const install = sh('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], project);
    assert.equal(install.code, 0, `npm install --offline of the tarball must work without the network (the dependencies come from npm's cache, filled by npm ci)\n${told(install)}`);

    writeFileSync(join(project, 'probe.mjs'), PROBE_MJS);
    const probe = sh(process.execPath, ['probe.mjs'], project);
    assert.equal(probe.code, 0, told(probe));
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    assert.deepEqual(JSON.parse(probe.out), {
      VERSION: version,
      created: true,
      submitted: ['a'],
      workstreams: [['lib', 'running']],
      view: { seq: 3, source: 'current.json', b: 'pending' },
      pruned: 0,
      refused: 'DUPLICATE_WORKSTREAM',
    });
    const bin = sh(join(project, 'node_modules/.bin/cairn'), ['status', '--state-dir', 'st', '--json'], project);
    assert.equal(bin.code, 0, told(bin));
    assert.equal(JSON.parse(bin.out).workstreams[0].id, 'lib');

    // The installed declarations: right types pass, a wrong call fails (the @ts-expect-error is used).
    writeFileSync(join(project, 'probe.ts'), PROBE_TS);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
      files: ['probe.ts'],
    }));
    const tsc = sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
    assert.equal(tsc.code, 0, told(tsc));
    writeFileSync(join(project, 'probe.ts'), PROBE_TS.replace('const queued: string[] = r.queued;', 'const queued: number = r.queued;'));
    const wrong = sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
    assert.equal(wrong.code, 2, told(wrong));
    assert.match(wrong.out, /probe\.ts\(\d+,\d+\): error TS2322: Type 'string\[\]' is not assignable to type 'number'/);
  });
});
