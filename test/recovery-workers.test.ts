// Worker tools through the real CLI when no scheduler runs (its death left a busy worker and a
// running task behind): check-worker, restart-worker, force-shutdown-worker, show-worker-logs.
// The same tools against a live `cairn run` are in recovery-live.test.ts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  alive, assertManualAction, cli, cmd, given, interventions, lastSeq, orphanProcess, since, startTask, startWorker, status, submitCmd, tempState, waitFor,
} from './recovery-helpers.js';

const t = tempState();
after(t.cleanup);
const S = t.state;
const orphans = [orphanProcess(), orphanProcess()];
after(() => orphans.forEach((o) => { try { process.kill(-o.pid, 'SIGKILL'); } catch { /* gone */ } }));

describe('worker tools after the scheduler died', () => {
  it('check-worker says no worker process exists without a scheduler, and what to do; exit 1', async () => {
    await given(S, [
      { kind: 'scheduler_start', scheduler_id: 'dead-scheduler', pid: 999_999, process_start: null },
      submitCmd({ id: 'wk', defaults: { max_retries: 1 }, tasks: [{ id: 'a', command: cmd.sleep(60_000) }, { id: 'b', command: cmd.sleep(60_000) }] }),
      startWorker('w1'), startWorker('w2'),
      startTask('wk', 'a', 'w1', orphans[0]!), startTask('wk', 'b', 'w2', orphans[1]!),
    ]);
    const r = cli(S, ['check-worker', '--worker-id', 'w1', '--json']);
    assert.equal(r.code, 1, r.err);
    const c = r.json();
    assert.deepEqual([c.verdict, c.healthy, c.worker.state, c.task.task, c.scheduler.live], ['not_running', false, 'busy', 'wk/a', false]);
    assert.ok(c.commands.includes('cairn repair-state --dry-run'));
    assert.match(cli(S, ['check-worker', '--worker-id', 'w1']).out, /worker w1: not_running \(recorded busy/);
    const u = cli(S, ['check-worker', '--worker-id', 'w9', '--json']);
    assert.equal(u.code, 2);
    assert.equal(u.json().error.code, 'UNKNOWN_WORKER');
  });

  it('restart-worker needs a live scheduler: exit 1, nothing written; an unknown worker is exit 2', () => {
    const seq = lastSeq(S);
    const r = cli(S, ['restart-worker', '--worker-id', 'w1', '--json']);
    assert.equal(r.code, 1);
    assert.equal(r.json().error.code, 'NO_SCHEDULER');
    assert.equal(cli(S, ['restart-worker', '--worker-id', 'w7']).code, 2);
    assert.equal(lastSeq(S), seq);
  });

  it('force-shutdown-worker --reassign asks first, then kills the leftover task, queues it again without spending a retry and shuts the worker down', async () => {
    const seq = lastSeq(S);
    assert.equal(cli(S, ['force-shutdown-worker', '--worker-id', 'w1', '--reassign']).code, 2);
    assert.equal(lastSeq(S), seq);
    const lines = interventions(S).length;
    const r = cli(S, ['force-shutdown-worker', '--worker-id', 'w1', '--reassign', '--yes', '--reason', 'hung', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.json().killed, ['wk/a']);
    await waitFor('the orphan to die', () => !alive(orphans[0]!.pid));
    const recs = since(S, seq);
    assert.deepEqual(recs.map((x) => `${x.type} ${x.task_id ?? x.worker_id} ${x.from}->${x.to} ${x.trigger ?? ''}`), [
      'task_reassigned a running->queued worker_lost',
      'worker_shutdown w1 idle->shutdown operator',
    ]);
    assertManualAction(S, 'force_shutdown_worker', recs, lines);
    const st = status(S);
    assert.deepEqual([st.tasks['wk/a']!.state, st.tasks['wk/a']!.retry_count], ['queued', 0]);
    const again = cli(S, ['force-shutdown-worker', '--worker-id', 'w1', '--yes', '--json']);
    assert.equal(again.code, 0);
    assert.match(again.json().message, /already shut down/);
  });

  it('force-shutdown-worker without --reassign counts the attempt as failed (a retry is spent)', async () => {
    const seq = lastSeq(S);
    assert.equal(cli(S, ['force-shutdown-worker', '--worker-id', 'w2', '--yes']).code, 0);
    await waitFor('the orphan to die', () => !alive(orphans[1]!.pid));
    const recs = since(S, seq);
    assert.equal(recs[0]!.type, 'task_attempt_failed');
    assert.equal((recs[0]!.outcome as { kind: string }).kind, 'worker_lost');
    const st = status(S);
    assert.deepEqual([st.tasks['wk/b']!.state, st.tasks['wk/b']!.retry_count], ['retrying', 1]);
  });

  it('show-worker-logs prints the tail of the worker\'s log and its records', () => {
    mkdirSync(join(S, 'logs', '_workers'), { recursive: true });
    writeFileSync(join(S, 'logs', '_workers', 'w1.log'), 'line 1\nline 2\nlast words\n');
    const r = cli(S, ['show-worker-logs', '--worker-id', 'w1', '--lines', '2', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.json().log, ['line 2', 'last words']);
    assert.deepEqual(r.json().records.map((x: { type: string }) => x.type), ['task_reassigned', 'worker_shutdown']);
    const human = cli(S, ['show-worker-logs', '--worker-id', 'w2']);
    assert.match(human.out, /\(empty or not written yet\)/);
  });
});
