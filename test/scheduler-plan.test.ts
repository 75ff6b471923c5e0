import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apply } from '../src/model/apply.js';
import { decide, type Command } from '../src/model/decide.js';
import { State } from '../src/model/state.js';
import type { LogRecord, TaskDef, WorkstreamSpec } from '../src/model/types.js';
import { SchedulerIndex } from '../src/scheduler/index-state.js';
import { plan, type Runtime, type WorkerRuntime } from '../src/scheduler/plan.js';

const CFG = { health_timeout_ms: 30_000, shutdown_after_ms: 180_000, resource_wait_warn_ms: 60_000 };
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function task(id: string, extra: Partial<TaskDef> = {}): TaskDef {
  return { id, command: 'true', depends_on: [], resources: {}, critical: false, priority: 0, timeout_seconds: null, max_retries: 3, retry_base_seconds: 1, retry_cap_seconds: 300, validate: null, cwd: null, env: {}, ...extra };
}

/** Given a state built by real decisions, the index and a runtime with idle workers. */
function given(spec: WorkstreamSpec, workers: string[]) {
  const s = new State();
  let seq = 0;
  const run = (cmd: Command) => {
    for (const d of decide(s, cmd, { now: T0 })) apply(s, { ...d, seq: ++seq, id: `r${seq}`, ts: new Date(T0).toISOString(), severity: 'info', operator: null, crc: '00000000' } as LogRecord);
  };
  for (const w of workers) run({ kind: 'worker_start', worker_id: w, pid: 1, scheduler_id: 's' });
  run({ kind: 'submit', spec });
  const rt: Runtime = { now: T0, workers: new Map(), waitingSince: new Map(), inFlight: new Set() };
  for (const w of workers) rt.workers.set(w, { id: w, phase: 'up', key: null, attempt: 0, pgid: null, deadline: null, lastHeartbeat: T0, unresponsiveSince: null, killing: null, holds: {}, settling: null } satisfies WorkerRuntime);
  return { s, index: new SchedulerIndex(s), rt, run };
}

const starts = (effects: ReturnType<typeof plan>) => effects.flatMap((e) => (e.kind === 'start' ? [e.id] : []));

test('starts ready tasks by priority, then longest remaining path, then definition order', () => {
  const spec: WorkstreamSpec = {
    id: 'ws', params: {}, resources: {},
    tasks: [task('plain'), task('urgent', { priority: 5 }), task('head-of-chain'), task('tail', { depends_on: ['head-of-chain'] }), task('plain2')],
  };
  const { s, index, rt } = given(spec, ['w1', 'w2', 'w3', 'w4']);
  assert.deepEqual(starts(plan(s, index, rt, CFG)), ['urgent', 'head-of-chain', 'plain', 'plain2']);
});

test('takes all of a task\'s resources at once or none, and never exceeds max_holders', () => {
  const spec: WorkstreamSpec = {
    id: 'ws', params: {}, resources: { db: { max_holders: 2 }, gpu: { max_holders: 1 } },
    tasks: [task('a', { resources: { db: 1, gpu: 1 } }), task('b', { resources: { db: 1, gpu: 1 } }), task('c', { resources: { db: 1 } }), task('d', { resources: { db: 1 } })],
  };
  const { s, index, rt } = given(spec, ['w1', 'w2', 'w3', 'w4']);
  assert.deepEqual(starts(plan(s, index, rt, CFG)), ['a', 'c'], 'b waits for gpu; d would be the third db holder');
});

test('warns once that a task waits too long for a resource', () => {
  const spec: WorkstreamSpec = { id: 'ws', params: {}, resources: { lock: { max_holders: 1 } }, tasks: [task('a', { resources: { lock: 1 } }), task('b', { resources: { lock: 1 } })] };
  const { s, index, rt, run } = given(spec, ['w1', 'w2']);
  plan(s, index, rt, CFG);
  run({ kind: 'task_start', workstream_id: 'ws', task_id: 'a', worker_id: 'w1', pid: 10, pgid: 10, process_start: '1', scheduler_id: 's', deadline: null });
  rt.workers.get('w1')!.key = 'ws/a';
  rt.workers.get('w1')!.attempt = 1;
  rt.workers.get('w1')!.holds = { lock: 1 };
  rt.now = T0 + 61_000;
  const effects = plan(s, index, rt, CFG);
  const warn = effects.find((e) => e.kind === 'resource_warn');
  assert.deepEqual(warn && { id: (warn as any).id, resource: (warn as any).resource }, { id: 'b', resource: 'lock' });
  run({ kind: 'resource_wait_warn', workstream_id: 'ws', task_id: 'b', resource_id: 'lock', waited_ms: 61_000 });
  rt.now += 10_000;
  assert.equal(plan(s, index, rt, CFG).filter((e) => e.kind === 'resource_warn').length, 0, 'only once per wait');
});

test('asks for a timeout kill at the deadline and wakes up exactly then', () => {
  const spec: WorkstreamSpec = { id: 'ws', params: {}, resources: {}, tasks: [task('slow', { timeout_seconds: 5 })] };
  const { s, index, rt, run } = given(spec, ['w1']);
  run({ kind: 'task_start', workstream_id: 'ws', task_id: 'slow', worker_id: 'w1', pid: 10, pgid: 10, process_start: '1', scheduler_id: 's', deadline: null });
  Object.assign(rt.workers.get('w1')!, { key: 'ws/slow', attempt: 1, deadline: T0 + 5000 });
  const before = plan(s, index, rt, CFG);
  assert.equal(before.filter((e) => e.kind === 'timeout').length, 0);
  assert.deepEqual(before.find((e) => e.kind === 'wake_at'), { kind: 'wake_at', at: T0 + 1000 });
  rt.now = T0 + 5000;
  assert.deepEqual(plan(s, index, rt, CFG).filter((e) => e.kind === 'timeout'), [{ kind: 'timeout', worker: 'w1' }]);
});

test('marks a silent worker unresponsive, then shuts it down and reassigns after the limit', () => {
  const spec: WorkstreamSpec = { id: 'ws', params: {}, resources: {}, tasks: [task('t')] };
  const { s, index, rt, run } = given(spec, ['w1']);
  rt.now = T0 + 30_000;
  assert.deepEqual(plan(s, index, rt, CFG).filter((e) => e.kind === 'unresponsive'), [{ kind: 'unresponsive', worker: 'w1', silent: 30_000 }]);
  run({ kind: 'worker_unresponsive', worker_id: 'w1', silent_ms: 30_000 });
  rt.workers.get('w1')!.unresponsiveSince = rt.now;
  rt.now += 180_000;
  assert.deepEqual(plan(s, index, rt, CFG).filter((e) => e.kind === 'shutdown'), [{ kind: 'shutdown', worker: 'w1', trigger: 'unresponsive', reassign: true, restart: false }]);
});
