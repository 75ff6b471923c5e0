import { type Command, decide, freeUnits } from '../../src/model/decide.js';
import { parseSpec } from '../../src/model/spec.js';
import type { StateView } from '../../src/model/state.js';
import { TERMINAL_WORKSTREAM_STATES } from '../../src/model/states.js';
import type { Task, WorkstreamSpec } from '../../src/model/types.js';
import type { Decide } from '../../src/store/store.js';
import type { Rng } from './prng.js';

/**
 * A synthetic but realistic stream of state changes, driven by a seeded PRNG: workstreams submitted,
 * tasks started on two workers, finished, failed, retried, timed out, validated, workers lost and
 * restarted, workstreams completed or failed (and archived). Each step is chosen inside `decide`, from
 * the state as it is under the lock, so it is always legal whatever other writers did first.
 */
const WORKERS = ['w1', 'w2'] as const;
const SCHEDULER = 'torture-scheduler';

/** A small spec: 1–4 tasks, random dependencies on earlier tasks, sometimes a shared resource. */
export function randomSpec(rng: Rng, id: string, params: Record<string, string> = {}): WorkstreamSpec {
  const n = rng.int(1, 4);
  const tasks: Record<string, unknown>[] = [];
  let usesResource = false;
  for (let i = 1; i <= n; i++) {
    const deps: string[] = [];
    for (let j = 1; j < i; j++) if (rng.chance(0.5)) deps.push(`t${j}`);
    const t: Record<string, unknown> = { id: `t${i}`, command: rng.chance(0.5) ? 'true' : ['true'], depends_on: deps, max_retries: rng.int(0, 2) };
    if (rng.chance(0.3)) {
      t.resources = ['r1'];
      usesResource = true;
    }
    if (rng.chance(0.15)) t.critical = true;
    if (rng.chance(0.2)) t.validate = 'true';
    if (rng.chance(0.2)) t.timeout_seconds = rng.int(1, 600);
    tasks.push(t);
  }
  const spec: Record<string, unknown> = { id, params: { torture: 'yes', ...params }, tasks };
  if (usesResource) spec.resources = { r1: { max_holders: 1 } };
  return parseSpec(spec, { defaultId: () => id });
}

/** The next command for state `s`: always one the state allows. */
export function pickCommand(rng: Rng, s: StateView, now: number): Command {
  for (const w of WORKERS) {
    const wk = s.worker(w);
    if (!wk || wk.state === 'shutdown') return { kind: 'worker_start', worker_id: w, pid: 10_000 + rng.int(0, 50_000), scheduler_id: SCHEDULER };
  }
  const active = s.workstreamIds().map((id) => s.workstream(id)!).filter((ws) => !TERMINAL_WORKSTREAM_STATES.has(ws.state));
  const tasks: Task[] = active.flatMap((ws) => ws.task_ids.map((t) => s.task(ws.id, t)!));
  const idle = WORKERS.filter((w) => s.worker(w)!.state === 'idle');
  const startable = tasks.filter((t) => t.state === 'queued' && Object.entries(t.resources).every(([r, u]) => freeUnits(s, r) >= u));
  const running = tasks.filter((t) => t.state === 'running' || t.state === 'validating');
  const retrying = tasks.filter((t) => t.state === 'retrying');
  const busy = WORKERS.filter((w) => s.worker(w)!.state === 'busy');
  const options: [number, () => Command][] = [];
  const submit = (): Command => ({ kind: 'submit', spec: randomSpec(rng, `ws-${s.seq}-${rng.int(0, 999_999)}`) });
  if (active.length < 3) options.push([active.length === 0 ? 100 : 2, submit]);
  if (startable.length > 0 && idle.length > 0) {
    options.push([5, () => {
      const t = rng.pick(startable);
      return {
        kind: 'task_start', workstream_id: t.workstream_id, task_id: t.id, worker_id: rng.pick(idle), pid: rng.int(100, 99_999), pgid: null,
        process_start: null, scheduler_id: SCHEDULER, deadline: t.timeout_seconds ? new Date(now + t.timeout_seconds * 1000).toISOString() : null,
      };
    }]);
  }
  if (running.length > 0) {
    options.push([6, () => {
      const t = rng.pick(running);
      const kind = rng.weighted([[75, 'ok'], [18, 'fail'], [7, 'timeout']] as const);
      return {
        kind: 'task_outcome', workstream_id: t.workstream_id, task_id: t.id, attempt: t.attempt, phase: t.state === 'validating' ? 'validate' : 'command',
        outcome: kind === 'timeout'
          ? { kind: 'timeout', exit_code: null, signal: 'SIGTERM', duration_ms: rng.int(1, 9999), message: 'deadline passed' }
          : { kind: 'exit', exit_code: kind === 'ok' ? 0 : rng.int(1, 3), signal: null, duration_ms: rng.int(1, 9999), message: null },
      };
    }]);
  }
  if (retrying.length > 0) {
    options.push([3, () => {
      const t = rng.pick(retrying);
      return { kind: 'retry_due', workstream_id: t.workstream_id, task_id: t.id };
    }]);
  }
  if (busy.length > 0) {
    options.push([0.4, () => {
      const w = rng.pick(busy);
      return { kind: 'worker_shutdown', worker_id: w, trigger: 'torture', reassign: rng.chance(0.7) };
    }]);
  }
  if (options.length === 0) return submit();
  return rng.weighted(options)();
}

/** One step of the workload as a store decision. */
export function workloadStep(rng: Rng, clock: () => number): Decide {
  return (s) => {
    const now = clock();
    return decide(s, pickCommand(rng, s, now), { now });
  };
}

/** A clock that starts at a fixed time and moves 250 ms per reading: deterministic timestamps. */
export function steppingClock(startMs = Date.UTC(2025, 0, 1), stepMs = 250): () => number {
  let t = startMs;
  return () => (t += stepMs);
}
