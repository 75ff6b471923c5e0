// How many workers `cairn run` starts: --workers, then CAIRN_WORKERS, then config.json's
// `workers`, then the number of cores (at least 2). Bad values are refused before anything is
// written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CAIRN, records, setup, tmp } from './run-helpers.js';

const SPEC = { id: 'count', tasks: [{ id: 'a', command: 'true' }, { id: 'b', command: 'true' }] };

function runWith(dir: string, spec: string, args: string[], env: Record<string, string> = {}) {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('CAIRN_WORKERS' in env)) delete e.CAIRN_WORKERS;
  const r = spawnSync(process.execPath, [CAIRN, 'run', spec, ...args, '--state-dir', path.join(dir, '.state')], { cwd: dir, encoding: 'utf8', env: e, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Distinct workers that started in the run. */
const started = (dir: string) => new Set(records(dir).filter((r) => r.type === 'worker_started').map((r) => r.worker_id)).size;

describe('cairn run worker count', () => {
  it('takes config.json workers when neither the flag nor CAIRN_WORKERS is given', () => {
    const dir = tmp();
    const spec = setup(dir, SPEC, { workers: 3 });
    const r = runWith(dir, spec, []);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(started(dir), 3);
  });

  it('lets CAIRN_WORKERS override config.json, and --workers override both', () => {
    const a = tmp();
    const specA = setup(a, SPEC, { workers: 3 });
    assert.equal(runWith(a, specA, [], { CAIRN_WORKERS: '1' }).code, 0);
    assert.equal(started(a), 1);
    const b = tmp();
    const specB = setup(b, SPEC, { workers: 3 });
    assert.equal(runWith(b, specB, ['--workers', '2'], { CAIRN_WORKERS: '1' }).code, 0);
    assert.equal(started(b), 2);
  });

  it('starts as many workers as cores (at least 2) when nothing says', () => {
    const dir = tmp();
    const spec = setup(dir, SPEC);
    assert.equal(runWith(dir, spec, []).code, 0);
    assert.equal(started(dir), Math.max(2, availableParallelism()));
  });

  it('refuses a bad count with exit 2 before writing anything', () => {
    for (const [args, env, said] of [
      [['--workers', '0'], {}, /--workers must be a whole number from 1 to 256, got 0/],
      [['--workers', '2.5'], {}, /--workers must be a whole number from 1 to 256, got 2.5/],
      [[], { CAIRN_WORKERS: 'many' }, /CAIRN_WORKERS must be a whole number from 1 to 256, got "many"/],
      [[], { CAIRN_WORKERS: '999' }, /CAIRN_WORKERS must be a whole number from 1 to 256, got "999"/],
    ] as const) {
      const dir = tmp();
      const spec = path.join(dir, 'spec.json');
      spawnSync('sh', ['-c', `printf '%s' '${JSON.stringify(SPEC)}' > ${spec}`]);
      const r = runWith(dir, spec, [...args], { ...env });
      assert.equal(r.code, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
      assert.match(r.stderr, said);
      assert.ok(!existsSync(path.join(dir, '.state')), 'no state folder was made');
    }
  });

  it('refuses a config.json workers outside 1..256 with exit 2, naming the key', () => {
    const dir = tmp();
    const spec = setup(dir, SPEC, { workers: 0 });
    const r = runWith(dir, spec, []);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /workers/);
    assert.equal(records(dir).length, 0, 'nothing was recorded');
  });
});
