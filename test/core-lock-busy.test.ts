// Long recoveries on a loaded machine (issue 11 §2): a replay of a large log used to run under the
// state lock, whose refresh timer it starved, and the command then stopped with LOCK_COMPROMISED.
// These run the real CLI on a generated log of 100,000 records while busy processes compete for the
// CPU it runs on, with the shortest stale time a config allows (2 s): a pass over the log under the
// lock (seconds of it with two busy processes on its core) would lose the lock.
// The test process, and so every process it starts, is pinned to one core with taskset, so the
// busy processes load one core of a shared machine, not all; without taskset there are more of them
// than cores. The other long passes (replacing the log, repair-state's rebuild) are checked
// without a busy machine in core-long-pass.test.ts.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { baseRecords, simulate, type SimOptions } from '../bench/gen.js';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';
import { scratch } from './helpers/tmp.js';

const RECORDS = 100_000;
const SIM: Omit<SimOptions, 'churnRecords'> = { workstreamId: 'nightly-build', tasks: 300, layerWidth: 30, workers: 2 };
const LONG = { timeoutMs: 180_000 };

const hogs: ChildProcess[] = [];
function startHogs(): void {
  const pinned = spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' }).status === 0;
  const n = pinned ? 2 : availableParallelism() + 1;
  for (let i = 0; i < n; i++) hogs.push(spawn(process.execPath, [join(FIXTURES, 'busy.mjs')], { stdio: 'ignore' }));
}
function stopHogs(): void {
  for (const h of hogs.splice(0)) h.kill('SIGKILL');
}
process.on('exit', stopHogs);

describe('long recoveries on a busy machine', () => {
  let dir = '';
  let state = '';
  let records = 0;

  before(async () => {
    dir = scratch('cairn-busy-');
    state = join(dir, '.state');
    const r = await cairn(['init', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    const base = baseRecords(SIM, join(dir, 'base.jsonl'));
    records = simulate(join(state, 'transitions.jsonl'), { ...SIM, churnRecords: RECORDS - base }).records;
    fs.writeFileSync(join(state, 'config.json'), JSON.stringify({ lock_stale_ms: 2000, lock_update_ms: 1000 }));
    startHogs();
  });
  after(stopHogs);

  const ok = (r: Awaited<ReturnType<typeof cairnJson>>) => {
    assert.equal(r.code, 0, said(r));
    assert.doesNotMatch(r.stderr, /LOCK_COMPROMISED/);
  };

  it('restores from the log itself without losing the state lock', async () => {
    const r = await cairnJson(['restore-state', '--from-transitions', join(state, 'transitions.jsonl'), '--yes', '--state-dir', state], LONG);
    ok(r);
    assert.equal(r.doc.seq, records + 1, 'the state_restored record follows the replayed log');
  });

  it('restores from the oldest backup plus the whole log after it without losing the state lock', async () => {
    // The restore above kept the empty current.json (seq 0) as the only backup: the replay is the whole log.
    const r = await cairnJson(['restore-state', '--from-backup', 'latest', '--yes', '--state-dir', state], LONG);
    ok(r);
    assert.match(r.doc.source, /_0\.json$/, 'restored from the backup taken at seq 0');
    assert.equal(r.doc.seq, records + 2);
  });
});
