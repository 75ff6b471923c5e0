// status, show-task, check-worker and analyze-workstream-failure show a Slurm task's job id and its
// live Slurm state (one squeue for all jobs), and say so, instead of failing, when slurmctld does not
// answer. On the real single-node Slurm (.ci/slurm-up).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { CAIRN_BIN, FIXTURES } from './helpers/paths.js';
import { records, slurmSkip, startSlurmctld, stopSlurmctld, until } from './helpers/slurm.js';
import { scratch } from './helpers/tmp.js';

const JOURNAL_TASK = join(FIXTURES, 'journal-task.sh');

async function slurmState(executor: Record<string, unknown>): Promise<{ dir: string; state: string }> {
  const dir = scratch('cairn-slurm-views-');
  const state = join(dir, 'st');
  const r = await cairn(['init', '--state-dir', state]);
  assert.equal(r.code, 0, said(r));
  writeFileSync(join(state, 'config.json'), JSON.stringify({ executor: { kind: 'slurm', poll_ms: 300, ...executor }, kill_grace_ms: 2000 }));
  return { dir, state };
}

function taskOf(doc: any, id: string): any {
  return doc.workstreams.flatMap((ws: any) => ws.tasks).find((t: any) => t.id === id);
}

describe('the views of a task on Slurm', { skip: slurmSkip() }, () => {
  it('shows the job id and its live state: PENDING with its reason, RUNNING on its node, and "does not answer" while slurmctld is down', async () => {
    // --hold keeps the job pending (reason JobHeldUser) until the test releases it.
    const { dir, state } = await slurmState({ extra_args: ['--hold'] });
    const journal = join(dir, 'journal');
    const spec = join(dir, 'held.json');
    writeFileSync(spec, JSON.stringify({ id: 'held', tasks: [{ id: 'nap', command: [JOURNAL_TASK, journal, '300'] }] }));
    const child = spawn(process.execPath, [CAIRN_BIN, 'run', spec, '--state-dir', state, '--executor', 'slurm', '--workers', '1', '--json'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CAIRN_OPERATOR: 'tester' } });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      let jobId = '';
      await until(() => {
        try { jobId = records(state).find((r) => r.type === 'task_started')?.job_id ?? ''; } catch { /* not yet */ }
        return jobId !== '';
      }, 120_000, 'the job to be submitted');

      const pending = await cairnJson(['status', '--state-dir', state]);
      assert.equal(pending.code, 0, said(pending));
      assert.deepEqual(taskOf(pending.doc, 'nap').slurm, { job_id: jobId, state: 'PENDING', reason: 'JobHeldUser', node: null, note: null });
      const human = await cairn(['status', '--state-dir', state]);
      assert.match(human.stdout, new RegExp(`nap .*slurm job ${jobId}: PENDING \\(JobHeldUser\\)`), said(human));

      // slurmctld away: the views still answer (exit 0) and say so; the task stays as it is.
      await stopSlurmctld();
      try {
        const down = await cairnJson(['status', '--state-dir', state]);
        assert.equal(down.code, 0, said(down));
        const t = taskOf(down.doc, 'nap');
        assert.equal(t.state, 'running');
        assert.equal(t.slurm.job_id, jobId);
        assert.equal(t.slurm.state, null);
        assert.match(t.slurm.note, /^Slurm does not answer: .*(contact|connect|timed out)/i);
        const show = await cairn(['show-task', '--task-id', 'held/nap', '--state-dir', state]);
        assert.equal(show.code, 0, said(show));
        assert.match(show.stdout, new RegExp(`job +slurm job ${jobId}: Slurm does not answer`), said(show));
      } finally {
        await startSlurmctld();
      }

      execFileSync('scontrol', ['release', jobId]);
      await until(() => { try { return readFileSync(journal, 'utf8').includes('nap 1 start'); } catch { return false; } }, 120_000, 'the released job to run');
      const node = hostname().split('.')[0]!;
      const show = await cairnJson(['show-task', '--task-id', 'held/nap', '--state-dir', state]);
      assert.equal(show.code, 0, said(show));
      assert.deepEqual(show.doc.slurm, { job_id: jobId, state: 'RUNNING', reason: null, node, note: null });

      const worker = records(state).find((r) => r.type === 'task_started')!.worker_id as string;
      const check = await cairnJson(['check-worker', '--worker-id', worker, '--state-dir', state]);
      assert.equal(check.code, 0, said(check));
      assert.equal(check.doc.task.job_id, jobId);
      assert.equal(check.doc.job.state, 'RUNNING');
      assert.deepEqual(check.doc.executor_jobs, [{ task: 'held/nap', worker_id: worker, job_id: jobId, slurm: { job_id: jobId, state: 'RUNNING', reason: null, node, note: null } }]);
      const checkHuman = await cairn(['check-worker', '--worker-id', worker, '--state-dir', state]);
      assert.match(checkHuman.stdout, new RegExp(`Slurm jobs in flight \\(1\\):\\n +held/nap +${worker} +job ${jobId}: RUNNING on ${node}`), said(checkHuman));
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await done, 130, err);
  });

  it('analyze-workstream-failure shows each failed attempt\'s job and what Slurm says of it', async () => {
    const { dir, state } = await slurmState({});
    const spec = join(dir, 'bad.json');
    writeFileSync(spec, JSON.stringify({ id: 'bad', tasks: [{ id: 'boom', command: ['sh', '-c', 'exit 3'], max_retries: 0 }] }));
    const r = await cairnJson(['run', spec, '--state-dir', state, '--executor', 'slurm'], { timeoutMs: 120_000 });
    assert.equal(r.code, 1, said(r));
    const jobId = records(state).find((x) => x.type === 'task_started')!.job_id as string;
    const a = await cairnJson(['analyze-workstream-failure', '--workstream-id', 'bad', '--state-dir', state]);
    assert.equal(a.code, 0, said(a));
    const at = a.doc.tasks[0].attempts[0];
    assert.equal(at.job_id, jobId);
    assert.equal(at.slurm.state, 'FAILED', JSON.stringify(at.slurm));
    assert.equal(at.slurm.reason, 'NonZeroExitCode');
    const human = await cairn(['analyze-workstream-failure', '--workstream-id', 'bad', '--state-dir', state]);
    assert.match(human.stdout, new RegExp(`slurm job ${jobId}: FAILED on \\S+ \\(NonZeroExitCode\\)|slurm job ${jobId}: FAILED \\(NonZeroExitCode\\)`), said(human));
  });
});
