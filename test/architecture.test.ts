import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { CAIRN, ROOT } from './run-helpers.js';

/** Every .ts file under src/, with its import specifiers. */
function sources(): { file: string; imports: string[] }[] {
  const out: { file: string; imports: string[] }[] = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = path.join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.ts')) {
        const text = readFileSync(p, 'utf8');
        const imports = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2]!);
        out.push({ file: path.relative(ROOT, p), imports });
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  return out;
}

const resolved = (file: string, spec: string) => (spec.startsWith('.') ? path.join(path.dirname(file), spec) : spec);

test('the CLI calls only the public API (src/index.ts) and its own modules', () => {
  for (const { file, imports } of sources().filter((s) => s.file.startsWith('src/cli/'))) {
    for (const spec of imports) {
      const target = resolved(file, spec);
      if (!spec.startsWith('.')) continue;
      assert.ok(target === 'src/index.js' || target.startsWith('src/cli/'), `${file} imports ${spec}: the CLI may only use src/index.ts`);
    }
  }
});

test('the model and the log format are pure: no file system, no processes, no clock of their own', () => {
  for (const { file, imports } of sources().filter((s) => s.file.startsWith('src/model/') || s.file.startsWith('src/log/'))) {
    for (const spec of imports) {
      assert.ok(!/^node:(fs|child_process|fs\/promises|net|os)$/.test(spec), `${file} imports ${spec}`);
      assert.ok(!spec.includes('/store/') && !spec.includes('/runner/') && !spec.includes('/scheduler/') && !spec.includes('/api/'), `${file} reaches into ${spec}`);
    }
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    assert.ok(!/Date\.now\(\)|Math\.random\(\)/.test(text), `${file} reads the clock or randomness itself`);
  }
});

test('only src/runner/ spawns processes', () => {
  for (const { file, imports } of sources()) {
    if (imports.includes('node:child_process')) assert.ok(file.startsWith('src/runner/'), `${file} imports node:child_process`);
  }
});

test('only src/store/ (and the runner writing task logs it was given) touches files; the API reads only the spec file the user names', () => {
  const allowed = new Set(['src/api/submit.ts', 'src/api/restore.ts']);
  for (const { file, imports } of sources()) {
    if (!imports.some((s) => s === 'node:fs' || s === 'node:fs/promises')) continue;
    assert.ok(file.startsWith('src/store/') || file.startsWith('src/runner/') || allowed.has(file), `${file} imports node:fs`);
  }
});

test('the plan of the scheduler is pure: it imports no store, no runner, no file system', () => {
  const plan = sources().find((s) => s.file === 'src/scheduler/plan.ts')!;
  for (const spec of plan.imports) assert.ok(!/store|runner|node:/.test(spec), `plan imports ${spec}`);
});

test('everyday commands load no recovery tool, scheduler or task runner: those load on first use', () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'cairn-arch-')), '.state');
  try {
    assert.equal(spawnSync(process.execPath, [CAIRN, 'init', '--state-dir', dir]).status, 0);
    const loaded = (args: string[]) => {
      // The compiled sources, not the bundle (one file, in which esbuild keeps each `await import()`
      // lazy as an initializer run on first use): the trace sees which modules a command loads.
      const r = spawnSync(process.execPath, ['--import', path.join(ROOT, 'test', 'fixtures', 'module-trace.mjs'), CAIRN, ...args, '--state-dir', dir], { encoding: 'utf8', env: { ...process.env, CAIRN_NO_BUNDLE: '1' } });
      assert.equal(r.status, 0, r.stderr);
      return r.stderr.split('\n').filter((l) => l.startsWith('MODULE file:')).map((l) => l.slice('MODULE file://'.length));
    };
    // api/recovery/parse.js (the --max-holders parser the CLI needs to build its flags) is the exception.
    const heavy = (m: string) => /\/dist\/src\/(recovery|scheduler)\/|\/dist\/src\/api\/recovery\/(?!parse\.js$)|\/dist\/src\/api\/run\.js$|\/node_modules\/chokidar\//.test(m);
    for (const args of [['status', '--json'], ['events', '--json'], ['validate-state', '--json']]) {
      const mods = loaded(args);
      assert.ok(mods.some((m) => m.endsWith('/dist/src/index.js')), `the trace saw ${args[0]} load the API`);
      assert.deepEqual(mods.filter(heavy), [], `${args[0]} loads only what it uses`);
    }
    // The same trace sees a recovery tool load its modules when it runs.
    assert.ok(loaded(['show-resources', '--json']).some(heavy), 'show-resources loads the recovery tools');
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});
