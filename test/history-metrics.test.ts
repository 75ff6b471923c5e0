// cairn metrics: recoveries, failures, attempts, durations and throughput, computed from a real log
// (cairn run, retry-task, cairn run) and checked against figures the test computes from the same
// log by itself; --since/--until narrow the window; metrics.json agrees over the whole log.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cairn, cairnJson, said } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { scratch } from './helpers/tmp.js';

type Rec = { seq: number; ts: string; type: string; task_id?: string; workstream_id?: string; [k: string]: unknown };

const readLog = (state: string): Rec[] => readFileSync(join(state, 'transitions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);
const ms = (a: string, b: string) => Date.parse(b) - Date.parse(a);

/** Each completion's duration: its ts minus the ts of the task's last task_started before it. */
function durations(log: Rec[], low = 0): number[] {
  const started = new Map<string, string>();
  const out: number[] = [];
  for (const r of log) {
    if (r.type === 'task_started') started.set(String(r.task_id), r.ts);
    if (r.type === 'task_completed' && r.seq > low) out.push(ms(started.get(String(r.task_id))!, r.ts));
  }
  return out;
}

describe('cairn metrics', () => {
  let state = '';
  let log: Rec[] = [];
  /** The last seq of the first run: the failed workstream before the operator's retry. */
  let firstRunEnd = 0;

  before(async () => {
    const dir = scratch();
    state = join(dir, 'st');
    const spec = join(dir, 'w.json');
    writeFileSync(spec, JSON.stringify({
      id: 'w',
      tasks: [
        { id: 'a', command: 'true' },
        // Times out on its first attempt (the marker is written before the sleep), completes on its retry.
        { id: 'b', command: `if [ -f ${dir}/b.done ]; then exit 0; fi; touch ${dir}/b.done; sleep 5`, timeout_seconds: 0.5, max_retries: 1 },
        // Exits 2 until the operator "fixes" it (the marker), then completes after retry-task.
        { id: 'c', command: `if [ -f ${dir}/c.fixed ]; then exit 0; fi; exit 2`, max_retries: 0 },
      ],
    }));
    const run1 = await cairn(['run', spec, '--state-dir', state, '--workers', '2']);
    assert.equal(run1.code, 1, said(run1));
    firstRunEnd = readLog(state).at(-1)!.seq;
    writeFileSync(join(dir, 'c.fixed'), '');
    const retry = await cairn(['retry-task', '--task-id', 'w/c', '--state-dir', state, '--operator', 'alice', '--reason', 'fixed the input']);
    assert.equal(retry.code, 0, said(retry));
    const run2 = await cairn(['run', '--state-dir', state]);
    assert.equal(run2.code, 0, said(run2));
    log = readLog(state);
  });

  it('counts every figure of the whole log exactly', async () => {
    const r = await cairnJson(['metrics', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    const d = r.doc;
    assert.equal(d.records, log.length);
    assert.deepEqual([d.first_seq, d.last_seq], [1, log.at(-1)!.seq]);
    // The one operator retry: c failed (exit 2), was retried, and completed.
    const failedAt = log.find((x) => x.type === 'task_failed' && x.task_id === 'c')!.ts;
    const doneAt = log.find((x) => x.type === 'task_completed' && x.task_id === 'c')!.ts;
    const ttr = ms(failedAt, doneAt);
    assert.deepEqual(d.recoveries, {
      retry_task: { count: 1, succeeded: 1, failed: 0, pending: 0, success_rate: 1, time_to_recover_ms: { mean: ttr, p50: ttr, p95: ttr, max: ttr } },
    });
    assert.deepEqual(d.failures, {
      total: 2,
      by_kind: { exit: 1, timeout: 1, signal: 0, spawn_error: 0, worker_lost: 0, validation: 0, cancelled: 0 },
      exit_codes: { 2: 1 },
      tasks_failed: 1,
    });
    // a: 1 attempt; b: timed out then completed (2); c: failed, then its retry completed (2).
    assert.deepEqual(d.attempts, { tasks: 3, total: 5, mean: 1.667, max: 2, distribution: { 1: 1, 2: 2 } });
    const all = durations(log).sort((x, y) => x - y);
    assert.equal(all.length, 3);
    assert.deepEqual(d.durations, { w: { count: 3, mean: Math.round((all[0]! + all[1]! + all[2]!) / 3), p50: all[1], p95: all[2], max: all[2] } });
    const span = ms(log[0]!.ts, log.at(-1)!.ts);
    assert.deepEqual(d.span, { from: log[0]!.ts, to: log.at(-1)!.ts, ms: span });
    assert.deepEqual(d.throughput, { completed: 3, per_hour: Math.round((3 / (span / 3_600_000)) * 1000) / 1000, per_minute: Math.round((3 / (span / 60_000)) * 1000) / 1000 });
    assert.match(d.definitions.time_to_recover_ms, /from the failure the recovery answered/);
  });

  it('agrees with metrics.json over the whole log (every figure, and timeouts)', async () => {
    const r = await cairnJson(['metrics', '--state-dir', state]);
    const file = JSON.parse(readFileSync(join(state, 'metrics.json'), 'utf8'));
    for (const k of ['records', 'first_seq', 'last_seq', 'span', 'recoveries', 'failures', 'attempts', 'durations', 'throughput']) assert.deepEqual(file[k], r.doc[k], k);
    assert.equal(r.doc.failures.by_kind.timeout, file.timeouts);
    const v = await cairn(['validate-state', '--state-dir', state]);
    assert.equal(v.code, 0, said(v));
  });

  it('--since a seq counts only what came after it, with the failure before it as the recovery\'s start', async () => {
    const r = await cairnJson(['metrics', '--since', String(firstRunEnd), '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    const d = r.doc;
    const after = log.filter((x) => x.seq > firstRunEnd);
    assert.equal(d.records, after.length);
    assert.equal(d.since.seq, firstRunEnd);
    const failedAt = log.find((x) => x.type === 'task_failed' && x.task_id === 'c')!.ts;
    const doneAt = log.find((x) => x.type === 'task_completed' && x.task_id === 'c')!.ts;
    assert.equal(d.recoveries.retry_task.succeeded, 1);
    assert.equal(d.recoveries.retry_task.time_to_recover_ms.max, ms(failedAt, doneAt));
    assert.equal(d.failures.total, 0);
    assert.deepEqual(d.attempts, { tasks: 1, total: 1, mean: 1, max: 1, distribution: { 1: 1 } });
    const cDuration = durations(log, firstRunEnd);
    assert.deepEqual(d.durations.w, { count: 1, mean: cDuration[0], p50: cDuration[0], p95: cDuration[0], max: cDuration[0] });
    assert.equal(d.throughput.completed, 1);
    assert.deepEqual(d.span, { from: log[firstRunEnd - 1]!.ts, to: log.at(-1)!.ts, ms: ms(log[firstRunEnd - 1]!.ts, log.at(-1)!.ts) });
  });

  it('--since a time is the window after the last decision at or before it', async () => {
    const at = log[firstRunEnd - 1]!.ts;
    const bySeq = await cairnJson(['metrics', '--since', String(firstRunEnd), '--state-dir', state]);
    const byTime = await cairnJson(['metrics', '--since', at, '--state-dir', state]);
    assert.equal(byTime.code, 0, said(byTime));
    assert.equal(byTime.doc.since.seq, firstRunEnd);
    assert.deepEqual({ ...byTime.doc, since: null }, { ...bySeq.doc, since: null });
  });

  it('--until a seq counts the first run alone: no recovery yet, both failures, two completions', async () => {
    const r = await cairnJson(['metrics', '--until', String(firstRunEnd), '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    assert.deepEqual(r.doc.recoveries, {});
    assert.equal(r.doc.failures.total, 2);
    assert.deepEqual(r.doc.attempts.distribution, { 1: 2, 2: 1 });
    assert.equal(r.doc.throughput.completed, 2);
  });

  it('refuses a bad point, an empty window and an unknown workstream with exit 2', async () => {
    for (const args of [['--since', 'yesterday'], ['--since', '5', '--until', '3'], ['--workstream-id', 'nope']]) {
      const r = await cairn(['metrics', ...args, '--state-dir', state]);
      assert.equal(r.code, 2, `${args.join(' ')}\n${said(r)}`);
      assert.match(r.stderr, /error \[(BAD_INPUT|UNKNOWN_WORKSTREAM)\]/);
    }
  });

  it('prints the figures for people, and scripts/metrics is the same command', async () => {
    const r = await cairn(['metrics', '--workstream-id', 'w', '--state-dir', state]);
    assert.equal(r.code, 0, said(r));
    assert.match(r.stdout, /retry_task\s+1\s+1\s+0\s+0\s+100%/);
    assert.match(r.stdout, /failed attempts: 2 \(exit: 1 \[code 2: 1\], timeout: 1\)/);
    assert.match(r.stdout, /throughput: 3 task\(s\) completed/);
    const s = spawnSync(join(ROOT, 'scripts', 'metrics'), ['--state-dir', state, '--json'], { encoding: 'utf8', env: { ...process.env, CAIRN_STATE_DIR: undefined } });
    assert.equal(s.status, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).throughput.completed, 3);
  });
});
