// The examples a new user runs (README) run as they are on the local single-node Slurm
// (.ci/slurm-up) with `cairn run examples/<name>.json --executor slurm`: no config, every attempt a
// job, with the same outcomes as on local workers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { records, slurmSkip } from './helpers/slurm.js';
import { scratch } from './helpers/tmp.js';

const example = (name: string) => join(ROOT, 'examples', `${name}.json`);

/** `cairn run examples/<name>.json --executor slurm` in a fresh folder, as the README says. */
async function runExample(name: string): Promise<{ dir: string; state: string; code: number | null; out: string; doc: any }> {
  const dir = scratch(`cairn-slurm-example-${name}-`);
  const state = join(dir, '.state');
  const r = await cairnJson(['run', example(name), '--executor', 'slurm', '--state-dir', state], { cwd: dir, timeoutMs: 300_000 });
  return { dir, state, code: r.code, out: said(r), doc: r.doc };
}

function started(state: string): any[] {
  return records(state).filter((r) => r.type === 'task_started');
}

describe('the examples on Slurm', { skip: slurmSkip(), concurrency: 4 }, () => {
  it('runs hello to completion as Slurm jobs, its validate inside the job, in the folder it was started from', async () => {
    const { dir, state, code, out } = await runExample('hello');
    assert.equal(code, 0, out);
    const s = started(state);
    assert.equal(s.length, 5, out);
    for (const r of s) assert.match(String(r.job_id), /^\d+$/, 'every attempt is a Slurm job');
    assert.equal(readFileSync(join(dir, 'out', 'hello.txt'), 'utf8'), 'built\n');
    const status = await cairn(['status', '--all', '--state-dir', state]);
    assert.match(status.stdout, /workstream hello +completed +5 tasks: 5 completed/, said(status));
  });

  it('retries flaky\'s download as a second job and completes', async () => {
    const { state, code, out, doc } = await runExample('flaky');
    assert.equal(code, 0, out);
    const download = doc.workstreams[0].tasks.find((t: any) => t.id === 'download');
    assert.equal(download.attempt, 2);
    const jobs = started(state).filter((r) => r.task_id === 'download').map((r) => r.job_id);
    assert.equal(new Set(jobs).size, 2, 'one job per attempt');
  });

  it('cancels timeout\'s stuck job at its timeout and completes on the next attempt', async () => {
    const { state, code, out } = await runExample('timeout');
    assert.equal(code, 0, out);
    const recs = records(state).filter((r) => r.task_id === 'slow-query');
    // Exactly one timeout: the 1 s counts from when the job runs, not from its wait in Slurm's queue.
    assert.deepEqual(recs.filter((r) => r.type === 'task_timed_out').map((r) => r.attempt), [1], out);
    assert.equal(recs.find((r) => r.type === 'task_completed')?.attempt, 2, out);
  });

  it('fails critical-failure\'s workstream and cancels the rest, naming the recovery commands', async () => {
    const { state, code, out, doc } = await runExample('critical-failure');
    assert.equal(code, 1, out);
    const byId = Object.fromEntries(doc.workstreams[0].tasks.map((t: any) => [t.id, t]));
    assert.equal(byId.build.state, 'failed');
    assert.equal(byId.publish.state, 'cancelled');
    assert.ok(existsSync(join(state, 'logs', 'release', 'build.2.log')), 'the retry ran as a second job');
    const analyze = await cairn(['analyze-workstream-failure', '--workstream-id', 'release', '--state-dir', state]);
    assert.match(analyze.stdout, /compiler error: missing semicolon/, said(analyze));
    assert.match(analyze.stdout, /slurm job \d+: /, 'each attempt names its Slurm job');
  });
});
