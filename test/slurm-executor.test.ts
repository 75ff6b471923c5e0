// The Slurm executor on a real single-node Slurm (.ci/slurm-up): each attempt is one job, the job id
// is in task_started, timeouts and outside kills go through Slurm, and the tasks' own journal shows
// every task ran exactly as often as the log says.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { CAIRN_BIN, FIXTURES } from './helpers/paths.js';
import { jobStates, records, slurmSkip, until } from './helpers/slurm.js';
import { scratch } from './helpers/tmp.js';

const JOURNAL_TASK = join(FIXTURES, 'journal-task.sh');

/** A state folder set to the slurm executor with a fast poll. */
async function slurmState(): Promise<{ dir: string; state: string; journal: string }> {
  const dir = scratch('cairn-slurm-');
  const state = join(dir, 'st');
  const r = await cairn(['init', '--state-dir', state]);
  assert.equal(r.code, 0, said(r));
  writeFileSync(join(state, 'config.json'), JSON.stringify({ executor: { kind: 'slurm', poll_ms: 300 }, kill_grace_ms: 2000 }));
  return { dir, state, journal: join(dir, 'journal') };
}

function runsOf(journal: string): Map<string, number> {
  const n = new Map<string, number>();
  let text = '';
  try { text = readFileSync(journal, 'utf8'); } catch { /* nothing ran */ }
  for (const l of text.split('\n')) {
    const [task, , phase] = l.split(' ');
    if (phase === 'start') n.set(task!, (n.get(task!) ?? 0) + 1);
  }
  return n;
}

describe('the slurm executor', { skip: slurmSkip() }, () => {
  it('runs a 30-task DAG with cpus and memory as Slurm jobs, retrying a flaky task, each attempt once', async () => {
    const { dir, state, journal } = await slurmState();
    const counter = join(dir, 'flaky-count');
    const tasks = Array.from({ length: 30 }, (_, i) => ({
      id: `t${i}`,
      command: [JOURNAL_TASK, journal, '0.2'],
      depends_on: i === 0 ? [] : [`t${Math.floor((i - 1) / 2)}`],
      cpus: 1,
      memory_mb: 64,
      ...(i === 7 ? { command: ['sh', '-c', `"$0" "$1" 0 && n=$(cat "$2" 2>/dev/null || echo 0); echo $((n+1)) > "$2"; [ "$n" -ge 1 ]`, JOURNAL_TASK, journal, counter], max_retries: 2, retry_base_seconds: 0.1 } : {}),
    }));
    const spec = join(dir, 'dag.json');
    writeFileSync(spec, JSON.stringify({ id: 'dag', tasks }));
    const r = await cairnJson(['run', spec, '--state-dir', state, '--executor', 'slurm', '--workers', '8'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, said(r));
    assert.equal(r.doc.outcome, 'completed');
    const runs = runsOf(journal);
    for (let i = 0; i < 30; i++) assert.equal(runs.get(`t${i}`), i === 7 ? 2 : 1, `t${i} ran ${runs.get(`t${i}`)} time(s)`);
    const started = records(state).filter((x) => x.type === 'task_started');
    assert.equal(started.length, 31, 'one task_started per attempt');
    for (const s of started) {
      assert.equal(s.executor, 'slurm');
      assert.match(s.job_id, /^\d+$/);
    }
    assert.equal(new Set(started.map((s) => s.job_id)).size, 31, 'one job per attempt');
    // Slurm got the resources: the job record says so.
    const job = execFileSync('scontrol', ['show', 'job', '--oneliner', started[0].job_id], { encoding: 'utf8' });
    assert.match(job, /MinMemoryNode=64M/);
    assert.match(job, /JobName=cairn\.dag\.t0\.a1/);
    // The job script is private (it holds the task's environment), the output is the attempt's log.
    const script = join(state, 'logs', 'dag', 't0.1.job', 'job.sh');
    assert.equal(statSync(script).mode & 0o777, 0o700);
    assert.match(readFileSync(join(state, 'logs', 'dag', 't7.1.log'), 'utf8'), /task t7 attempt 1 runs on /, 'the attempt log has the job output');
    const failed = records(state).find((x) => x.type === 'task_attempt_failed');
    assert.equal(failed?.task_id, 't7');
    assert.equal(failed?.outcome.exit_code, 1);
    const show = await cairnJson(['show-task', '--task-id', 'dag/t0', '--state-dir', state]);
    assert.equal(show.code, 0, said(show));
    assert.match(JSON.stringify(show.doc), new RegExp(`"job_id":"${started[0].job_id}"`));
  });

  it('cancels the job of an attempt that runs past its timeout (TERM, then KILL after the grace)', async () => {
    const { dir, state, journal } = await slurmState();
    const spec = join(dir, 'slow.json');
    // 6 s: with 2, on a loaded CI host, the command had not written its first line when the timeout
    // and its grace ran out (no journal at all), and a timeout before the command starts tests nothing
    // of TERM and KILL.
    writeFileSync(spec, JSON.stringify({ id: 'slow', tasks: [{ id: 'nap', command: [JOURNAL_TASK, journal, '300'], timeout_seconds: 6, max_retries: 0 }] }));
    const r = await cairnJson(['run', spec, '--state-dir', state, '--executor', 'slurm'], { timeoutMs: 120_000 });
    assert.equal(r.code, 1, said(r));
    const recs = records(state);
    const failed = recs.find((x) => x.type === 'task_failed');
    assert.equal(failed?.outcome.kind, 'timeout', JSON.stringify(failed));
    const id = recs.find((x) => x.type === 'task_started')!.job_id as string;
    await until(() => !['PENDING', 'RUNNING', 'COMPLETING'].includes(jobStates().get(id) ?? ''), 60_000, `job ${id} to end`);
    assert.doesNotMatch(readFileSync(journal, 'utf8'), /nap 1 end/, 'the command was stopped, not left to finish');
  });

  it('counts a job cancelled outside cairn (scancel) as a failed attempt with its Slurm state, and retries it', async () => {
    const { dir, state, journal } = await slurmState();
    const spec = join(dir, 'victim.json');
    // The first attempt sleeps long enough to be cancelled; the second finishes at once.
    writeFileSync(spec, JSON.stringify({ id: 'victim', tasks: [{ id: 'v', command: ['sh', '-c', '[ "$CAIRN_ATTEMPT" = 1 ] && s=120 || s=0; exec "$0" "$1" $s', JOURNAL_TASK, journal], max_retries: 1, retry_base_seconds: 0.1 }] }));
    const child = spawn(process.execPath, [CAIRN_BIN, 'run', spec, '--state-dir', state, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CAIRN_OPERATOR: 'tester' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    let jobId = '';
    await until(() => {
      try {
        jobId = records(state).find((x) => x.type === 'task_started')?.job_id ?? '';
      } catch { /* not yet */ }
      return jobId !== '' && runsOf(journal).get('v') === 1;
    }, 60_000, 'the first attempt to run');
    execFileSync('scancel', [jobId]);
    const code = await done;
    assert.equal(code, 0, out);
    const recs = records(state);
    const failed = recs.find((x) => x.type === 'task_attempt_failed');
    assert.ok(failed, 'the cancelled attempt is a failed attempt');
    assert.equal(failed.attempt, 1);
    assert.equal(recs.filter((x) => x.type === 'task_completed').length, 1);
    assert.equal(runsOf(journal).get('v'), 2);
  });
});
