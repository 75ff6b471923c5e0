// The state folder must be on a file system the compute nodes share: a job that cannot see its
// attempt's folder runs nothing and exits 213, and the scheduler stops the run with STATE_NOT_SHARED,
// naming the node, without charging the task anything. On the real single-node Slurm (.ci/slurm-up):
// the job is held, its folder removed, then released, so it starts on a node where the folder is not.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { CAIRN_BIN, FIXTURES } from './helpers/paths.js';
import { records, slurmSkip, until } from './helpers/slurm.js';
import { scratch } from './helpers/tmp.js';

describe('a state folder the compute nodes cannot see', { skip: slurmSkip() }, () => {
  it('stops the run with STATE_NOT_SHARED naming the node, runs nothing and spends no retry', async () => {
    const dir = scratch('cairn-slurm-notshared-');
    const state = join(dir, 'st');
    assert.equal((await cairn(['init', '--state-dir', state])).code, 0);
    writeFileSync(join(state, 'config.json'), JSON.stringify({ executor: { kind: 'slurm', poll_ms: 300, extra_args: ['--hold'] } }));
    const journal = join(dir, 'journal');
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ id: 'far', tasks: [{ id: 'away', command: [join(FIXTURES, 'journal-task.sh'), journal, '0'], max_retries: 2 }] }));
    const child = spawn(process.execPath, [CAIRN_BIN, 'run', spec, '--state-dir', state, '--executor', 'slurm', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CAIRN_OPERATOR: 'tester' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    let jobId = '';
    try {
      await until(() => {
        try { jobId = records(state).find((r) => r.type === 'task_started')?.job_id ?? ''; } catch { /* not yet */ }
        return jobId !== '';
      }, 120_000, 'the job to be submitted');
    } catch (e) {
      child.kill('SIGTERM');
      throw e;
    }
    // The node no longer sees the attempt's folder (its script was copied by sbatch; its folder is gone).
    const jobDir = join(state, 'logs', 'far', 'away.1.job');
    assert.ok(existsSync(jobDir));
    rmSync(jobDir, { recursive: true });
    execFileSync('scontrol', ['release', jobId]);
    const code = await done;
    assert.equal(code, 1, out);
    assert.match(out, new RegExp(`STATE_NOT_SHARED.*Slurm job ${jobId} \\(far/away\\) ran on \\S+ that cannot see the state folder`), out);
    assert.match(out, /file system every compute node mounts at the same path/, 'the hint says what to do');
    assert.equal(existsSync(journal), false, 'the task ran nothing');
    const recs = records(state);
    const charged = recs.filter((r) => ['task_attempt_failed', 'task_failed', 'task_timed_out'].includes(r.type));
    assert.deepEqual(charged, [], 'the attempt is not charged to the task');
    const show = await cairnJson(['show-task', '--task-id', 'far/away', '--state-dir', state]);
    assert.equal(show.code, 0, said(show));
    assert.equal(show.doc.task.retry_count, 0);
    assert.equal(show.doc.task.state, 'queued', 'requeued for the next run, as after Ctrl-C');
  });
});
