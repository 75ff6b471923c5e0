// Git-friendly by default (issue 11, section 6): teams commit .state/, so a `cairn run` with
// nothing to do, and every read-only command, must leave every committed file byte for byte as it
// was; shut-down workers leave the live lists when their run ends; a normal end of a run is `info`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Store } from '../src/store/store.js';
import { given, startWorker } from './recovery-helpers.js';
import { scratch } from './helpers/tmp.js';
import { cairn, json, records, setup } from './run-helpers.js';

const SPEC = {
  id: 'tidy',
  resources: { disk: { max_holders: 1 } },
  tasks: [
    { id: 'a', command: 'true', resources: ['disk'] },
    { id: 'b', command: ['sh', '-c', 'exit 0'], depends_on: ['a'], validate: 'true' },
  ],
};

function git(dir: string, args: string[]): string {
  const r = spawnSync('git', ['-c', 'user.name=cairn-test', '-c', 'user.email=test@cairn.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A folder with the spec run to the end and .state committed to a fresh git repository. */
function committedRun(): { dir: string; spec: string; stateDir: string } {
  const dir = scratch('cairn-git-');
  const spec = setup(dir, SPEC, { workers: 2 });
  const r = cairn(dir, ['run', spec]);
  assert.equal(r.code, 0, r.stderr);
  git(dir, ['init', '-q', '.']);
  git(dir, ['add', '.state']);
  git(dir, ['commit', '-q', '-m', 'state after the run']);
  return { dir, spec, stateDir: path.join(dir, '.state') };
}

const readJson = (file: string): any => JSON.parse(readFileSync(file, 'utf8'));

describe('git-friendly state folder', () => {
  it('changes no committed file and appends no record when a run has nothing to do', () => {
    const { dir, spec } = committedRun();
    const before = records(dir).length;
    const resume = cairn(dir, ['run']);
    assert.equal(resume.code, 0, resume.stderr);
    const again = cairn(dir, ['run', spec]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout + again.stderr, /submitted before \(completed\); nothing to run/);
    for (const args of [['status'], ['status', '--all'], ['validate-state'], ['events'], ['show-task', '--task-id', 'tidy/b'], ['checkpoints', '--workstream-id', 'tidy'], ['show-resources']]) {
      const r = cairn(dir, args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    assert.equal(git(dir, ['status', '--porcelain', '.state']), '', 'no committed file changed');
    assert.equal(records(dir).length, before, 'no record was appended');
  });

  it('writes the same derived files whatever the clock says: they are stamped with the last record\'s ts', async () => {
    const { dir, stateDir } = committedRun();
    const last = records(dir).at(-1);
    for (const clock of [() => Date.parse('2031-01-01T00:00:00.000Z'), () => Date.parse('2040-06-15T12:34:56.789Z')]) {
      const store = await Store.open(stateDir, { clock });
      // current.json and metrics.json rewritten; checkpoints and archive files hold only values
      // taken from records (checkpoint_at is the ts of the workstream's last task record).
      await store.writeDerived(true);
      await store.close();
      assert.equal(git(dir, ['status', '--porcelain', '.state']), '', `rewritten at ${new Date(clock()).toISOString()}`);
    }
    assert.equal(readJson(path.join(stateDir, 'current.json')).written_at, last.ts);
    assert.equal(readJson(path.join(stateDir, 'metrics.json')).generated_at, last.ts);
  });

  it('lists no shut-down worker once a run has ended: current.json, metrics.json, status and workers.json', () => {
    const { dir, stateDir } = committedRun();
    const current = readJson(path.join(stateDir, 'current.json'));
    assert.deepEqual(current.workers, {}, 'current.json lists no worker');
    assert.equal(current.scheduler, null);
    const metrics = readJson(path.join(stateDir, 'metrics.json'));
    assert.deepEqual(metrics.workers, { busy: 0, idle: 0, shutdown: 0, unresponsive: 0 });
    assert.deepEqual(json(dir, ['status', '--all']).workers, []);
    assert.deepEqual(readJson(path.join(stateDir, 'workers.json')).workers, [], 'workers.json lists no worker');
    const stopped = records(dir).filter((r) => r.type === 'scheduler_stopped');
    assert.equal(stopped.length, 1);
    assert.deepEqual([...stopped[0].released_workers].sort(), ['w1', 'w2'], 'the stop record names the workers it releases');
    const v = cairn(dir, ['validate-state']);
    assert.equal(v.code, 0, `a replay drops them the same way: ${v.stdout}${v.stderr}`);
  });

  it('records the normal shutdown of workers at the end of a run as info', () => {
    const { dir } = committedRun();
    const shutdowns = records(dir).filter((r) => r.type === 'worker_shutdown');
    assert.equal(shutdowns.length, 2);
    for (const r of shutdowns) {
      assert.equal(r.trigger, 'done');
      assert.equal(r.severity, 'info', `worker ${r.worker_id}`);
    }
  });

  it('answers check-worker and show-worker-logs about a worker of a finished run from the log', () => {
    const { dir } = committedRun();
    const r = cairn(dir, ['check-worker', '--worker-id', 'w1', '--json']);
    assert.equal(r.code, 1, `a shut-down worker is not healthy: ${r.stderr}`);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.verdict, 'shutdown');
    assert.equal(doc.worker.state, 'shutdown');
    assert.ok(doc.recent.some((x: any) => x.type === 'worker_shutdown'), 'its records come from the log');
    const logs = json(dir, ['show-worker-logs', '--worker-id', 'w1']);
    assert.equal(logs.state, 'shutdown');
    assert.ok(logs.records.some((x: any) => x.type === 'worker_started'));
    const unknown = cairn(dir, ['check-worker', '--worker-id', 'w9']);
    assert.equal(unknown.code, 2, 'a worker the log never saw is still unknown');
    assert.match(unknown.stderr, /no worker "w9"/);
  });

  it('records what recovery finds after a dead scheduler, releases its workers, and then changes nothing', async () => {
    const dir = scratch('cairn-git-');
    setup(dir, SPEC, { workers: 2 });
    const stateDir = path.join(dir, '.state');
    // A scheduler that died (its pid does not run) with two workers started, and no workstream.
    await given(stateDir, [{ kind: 'scheduler_start', scheduler_id: 'dead-scheduler', pid: 999_999, process_start: null }, startWorker('w1'), startWorker('w2')]);
    const r = cairn(dir, ['run']);
    assert.equal(r.code, 0, r.stderr);
    const after = records(dir);
    const tail = after.slice(-3).map((x) => `${x.type}${x.worker_id ? ` ${x.worker_id}` : ''} ${x.trigger}`);
    assert.deepEqual(tail, ['worker_shutdown w1 scheduler_lost', 'worker_shutdown w2 scheduler_lost', 'scheduler_stopped scheduler_lost']);
    assert.ok(!after.some((x) => x.type === 'scheduler_started' && x.scheduler_id !== 'dead-scheduler'), 'no scheduler was started for nothing');
    assert.deepEqual(readJson(path.join(stateDir, 'current.json')).workers, {});
    git(dir, ['init', '-q', '.']);
    git(dir, ['add', '.state']);
    git(dir, ['commit', '-q', '-m', 'recovered']);
    assert.equal(cairn(dir, ['run']).code, 0);
    assert.equal(git(dir, ['status', '--porcelain', '.state']), '');
    assert.equal(records(dir).length, after.length);
  });
});
