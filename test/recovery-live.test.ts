// The recovery tools against a live `cairn run`: the scheduler follows each record within a second
// (kills a cancelled task, starts a task a raised limit lets through, restarts or shuts a worker down).
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, alive, cli, cmd, lastSeq, node, since, specFile, status, tempState, waitFor } from './recovery-helpers.js';

const t = tempState();
const S = t.state;
const spec = {
  id: 'lv', defaults: { max_retries: 0 }, resources: { lock: { max_holders: 1 } },
  tasks: [
    { id: 'a', command: cmd.sleep(60_000) },
    { id: 'b', command: cmd.sleep(60_000) },
    { id: 'r1', command: cmd.sleep(60_000), resources: ['lock'] },
    { id: 'r2', command: cmd.sleep(60_000), resources: ['lock'] },
  ],
};
const run = spawn(node, [BIN, 'run', specFile(t.dir, spec), '--state-dir', S, '--workers', '5'], { stdio: ['ignore', 'ignore', 'pipe'] });
let runErr = '';
run.stderr!.on('data', (b: Buffer) => { runErr += b.toString(); });
const exited = new Promise<number | null>((resolve) => run.once('exit', (code) => resolve(code)));
after(async () => {
  if (run.exitCode === null) run.kill('SIGTERM');
  await exited;
  t.cleanup();
});

const taskOf = (key: string) => status(S).tasks[key]!;
const workerRunning = (key: string): string => status(S).doc.workers.find((w: { task: string | null }) => w.task === key).id;
const pidOf = (key: string): number => cli(S, ['show-task', '--task-id', key, '--json']).json().task.pid;

before(async () => {
  await waitFor('three tasks running and r2 waiting for the lock', () => {
    const st = status(S);
    return ['lv/a', 'lv/b', 'lv/r1'].every((k) => st.tasks[k]?.state === 'running') && st.tasks['lv/r2']?.state === 'queued';
  }, 20_000);
});

describe('with a live scheduler', () => {
  it('check-worker reports a busy worker healthy with its last heartbeat; exit 0', async () => {
    const w = workerRunning('lv/a');
    await waitFor('workers.json', () => cli(S, ['check-worker', '--worker-id', w, '--json']).json().live !== null);
    const r = cli(S, ['check-worker', '--worker-id', w, '--json']);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual([r.json().verdict, r.json().task.task, r.json().scheduler.live], ['healthy', 'lv/a', true]);
  });

  it('set-resource-limit: a raised limit lets the waiting task start within a second', async () => {
    const r = cli(S, ['set-resource-limit', '--resource-id', 'lock', '--max-holders', '2']);
    assert.equal(r.code, 0, r.err);
    await waitFor('r2 to start', () => taskOf('lv/r2').state === 'running', 2_000);
  });

  it('cancel-task: the scheduler kills the cancelled task\'s process within a second', async () => {
    const pid = pidOf('lv/r1');
    assert.ok(alive(pid));
    const seq = lastSeq(S);
    const r = cli(S, ['cancel-task', '--task-id', 'lv/r1', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.json().killed, [], 'the scheduler kills it, not the tool');
    assert.equal(r.json().scheduler.live, true);
    await waitFor('the process to be killed', () => !alive(pid), 2_000);
    assert.equal(since(S, seq)[0]!.type, 'task_cancelled');
    assert.equal(taskOf('lv/r1').state, 'cancelled');
  });

  it('restart-worker: the scheduler stops the worker and starts it again with the same id', async () => {
    const w = workerRunning('lv/a');
    const seq = lastSeq(S);
    const r = cli(S, ['restart-worker', '--worker-id', w, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json().scheduler_acted, true);
    const recs = since(S, seq).filter((x) => x.worker_id === w);
    assert.equal(recs[0]!.type, 'worker_restart_requested');
    assert.ok(recs.some((x) => x.type === 'worker_shutdown'));
    assert.ok(recs.some((x) => x.type === 'worker_started' && x.from === 'shutdown'));
  });

  it('restart-worker: the task of the restarted worker is reassigned without spending a retry', () => {
    const recs = since(S, 0).filter((x) => x.task_id === 'a' && x.seq > 0);
    assert.ok(recs.some((x) => x.type === 'task_reassigned'), recs.map((x) => x.type).join(','));
    assert.notEqual(taskOf('lv/a').state, 'failed');
  });

  it('force-shutdown-worker --reassign: the scheduler shuts the worker down and starts a replacement', async () => {
    const w = workerRunning('lv/b');
    const seq = lastSeq(S);
    const r = cli(S, ['force-shutdown-worker', '--worker-id', w, '--reassign', '--yes', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json().scheduler_acted, true);
    const recs = since(S, seq);
    assert.deepEqual([recs[0]!.type, recs[0]!.reassign], ['worker_shutdown_requested', true]);
    assert.ok(recs.some((x) => x.type === 'worker_shutdown' && x.worker_id === w));
    await waitFor('a replacement worker', () => since(S, seq).some((x) => x.type === 'worker_started'), 3_000);
  });

  it('force-shutdown-worker --reassign: its task is queued again without spending a retry', () => {
    assert.ok(since(S, 0).some((x) => x.type === 'task_reassigned' && x.task_id === 'b'));
    assert.notEqual(taskOf('lv/b').state, 'failed');
  });

  it('skip-task of the last running tasks ends the workstream; the scheduler exits and the state validates', async () => {
    for (const k of ['lv/a', 'lv/b', 'lv/r2']) {
      const st = taskOf(k).state;
      if (st === 'running' || st === 'queued') assert.equal(cli(S, ['skip-task', '--task-id', k, '--reason', 'enough', '--yes']).code, 0);
    }
    const code = await exited;
    assert.ok(code === 0 || code === 1, `cairn run exited ${code}: ${runErr}`);
    assert.equal(cli(S, ['validate-state']).code, 0);
  });
});
