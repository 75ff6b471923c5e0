// Cluster work survives the scheduler: kill -9 of `cairn run` at random moments, then `cairn run`
// again, adopts the jobs it left (no second run, no retry spent); slurmctld going away for 20 s
// loses nothing. The tasks' own journal is the witness that nothing ran twice.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, said } from './helpers/cli.js';
import { CAIRN_BIN, FIXTURES } from './helpers/paths.js';
import { records, slurmSkip, startSlurmctld, stopSlurmctld, until } from './helpers/slurm.js';
import { scratch } from './helpers/tmp.js';

const JOURNAL_TASK = join(FIXTURES, 'journal-task.sh');

async function setUp(tasks: number, sleep: string): Promise<{ state: string; journal: string; spec: string }> {
  const dir = scratch('cairn-slurm-crash-');
  const state = join(dir, 'st');
  const r = await cairn(['init', '--state-dir', state]);
  assert.equal(r.code, 0, said(r));
  writeFileSync(join(state, 'config.json'), JSON.stringify({ executor: { kind: 'slurm', poll_ms: 300 } }));
  const journal = join(dir, 'journal');
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({
    id: 'crash',
    tasks: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, command: [JOURNAL_TASK, journal, sleep], depends_on: i < 4 ? [] : [`t${i - 4}`], max_retries: 0 })),
  }));
  return { state, journal, spec };
}

function startRun(state: string, spec: string): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> } {
  const child = spawn(process.execPath, [CAIRN_BIN, 'run', spec, '--state-dir', state, '--workers', '4', '--json'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CAIRN_OPERATOR: 'tester' } });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, err })));
  return { child, done };
}

function starts(journal: string): Map<string, number> {
  const n = new Map<string, number>();
  for (const l of readFileSync(journal, 'utf8').split('\n')) {
    const [task, , phase] = l.split(' ');
    if (phase === 'start') n.set(task!, (n.get(task!) ?? 0) + 1);
  }
  return n;
}

describe('the slurm executor across crashes', { skip: slurmSkip() }, () => {
  it('adopts the jobs of a scheduler killed with SIGKILL at random moments: every task completes, none runs twice, no retry spent', async () => {
    const { state, journal, spec } = await setUp(16, '1.5');
    const delays: number[] = [];
    const count = () => { try { return records(state).filter((r) => r.type === 'task_started' || r.type === 'task_adopted').length; } catch { return 0; } };
    for (let i = 0; i < 3; i++) {
      const before = count();
      const { child, done } = startRun(state, spec);
      let exited = false;
      void done.then(() => { exited = true; });
      // Kill once this run has started or adopted jobs (start-up time varies on a busy machine), at a random moment after.
      await until(() => exited || count() > before, 120_000, `run ${i + 1} to start a job`);
      const ms = Math.floor(Math.random() * 2500);
      delays.push(ms);
      await new Promise((r) => setTimeout(r, ms));
      child.kill('SIGKILL');
      await done;
    }
    const last = startRun(state, spec);
    const end = await last.done;
    const why = `kills ${delays.join(', ')} ms after a run's first start\n${end.err}`;
    assert.equal(end.code, 0, why);
    const runs = starts(journal);
    for (let i = 0; i < 16; i++) assert.equal(runs.get(`t${i}`), 1, `t${i} ran ${runs.get(`t${i}`) ?? 0} time(s); ${why}`);
    const recs = records(state);
    assert.equal(recs.filter((r) => r.type === 'task_completed').length, 16, why);
    assert.equal(recs.filter((r) => r.type === 'task_attempt_failed' || r.type === 'task_failed').length, 0, `no attempt failed; ${why}`);
    const adopted = recs.filter((r) => r.type === 'task_adopted');
    assert.ok(adopted.length > 0, `some job was adopted; ${why}`);
    for (const a of adopted) {
      const started = recs.filter((r) => r.type === 'task_started' && r.task_id === a.task_id);
      assert.equal(started.length, 1, `${a.task_id}: adopted, never started again`);
      assert.equal(started[0].job_id, a.job_id);
    }
  });

  it('keeps every task as it is while slurmctld is stopped for 20 s, and carries on when it answers again', async () => {
    const { state, journal, spec } = await setUp(8, '2');
    const { done } = startRun(state, spec);
    await until(() => {
      try { return records(state).filter((r) => r.type === 'task_started').length >= 2; } catch { return false; }
    }, 60_000, 'two jobs to start');
    await stopSlurmctld();
    try {
      await new Promise((r) => setTimeout(r, 20_000));
    } finally {
      await startSlurmctld();
    }
    const end = await done;
    assert.equal(end.code, 0, end.err);
    assert.match(end.err, /slurmctld is not answering/);
    assert.match(end.err, /slurmctld answers again/);
    const runs = starts(journal);
    for (let i = 0; i < 8; i++) assert.equal(runs.get(`t${i}`), 1, `t${i} ran ${runs.get(`t${i}`) ?? 0} time(s)\n${end.err}`);
    const recs = records(state);
    assert.equal(recs.filter((r) => r.type === 'task_attempt_failed' || r.type === 'task_failed' || r.type === 'task_reassigned').length, 0, end.err);
  });
});
