import type { StateView } from '../model/state.js';
import { taskKey, splitKey } from '../model/types.js';
import type { ReadyEntry, SchedulerIndex } from './index-state.js';

/** Timings the plan works with (milliseconds). */
export interface PlanConfig {
  health_timeout_ms: number;
  shutdown_after_ms: number;
  resource_wait_warn_ms: number;
}

/** What the scheduler knows about one of its worker processes (not in the log). */
export interface WorkerRuntime {
  id: string;
  /** up: can take work; stopping: being stopped or replaced. */
  phase: 'up' | 'stopping';
  /** The task it physically runs (until its final outcome arrives), and that attempt. */
  key: string | null;
  attempt: number;
  pgid: number | null;
  deadline: number | null;
  lastHeartbeat: number;
  unresponsiveSince: number | null;
  /** Already being killed (timeout or cancel): do not ask again. */
  killing: 'timeout' | 'cancel' | null;
  /** Resources its task held; kept busy until the process is really gone. */
  holds: Record<string, number>;
  /**
   * The attempt (`key`) whose final outcome is being committed: the worker's process is free, and
   * it may be sent its next task while the log still says busy (the outcome and the next start
   * then share a commit, and the worker does not wait for a sync).
   */
  settling: string | null;
}

export interface Runtime {
  now: number;
  workers: Map<string, WorkerRuntime>;
  /** When each queued task first failed to get its resources. */
  waitingSince: Map<string, number>;
  /** Records already asked for and not yet committed (so a tick does not ask twice). */
  inFlight: Set<string>;
}

/** The effects a plan returns; only the engine carries them out (through runner/ and the store). */
export type Effect =
  | { kind: 'start'; ws: string; id: string; worker: string }
  | { kind: 'retry_due'; ws: string; id: string }
  | { kind: 'timeout'; worker: string }
  | { kind: 'kill_stale'; worker: string }
  | { kind: 'resource_warn'; ws: string; id: string; resource: string; waited: number }
  | { kind: 'unresponsive'; worker: string; silent: number }
  | { kind: 'recovered'; worker: string }
  /** restart: the same worker id comes back (restart_worker); otherwise a replacement with a new id. */
  | { kind: 'shutdown'; worker: string; trigger: string; reassign: boolean; restart: boolean }
  | { kind: 'wake_at'; at: number };

/**
 * plan(state, index, runtime, cfg) → effects. Pure: it reads the state, the index and what the
 * scheduler knows of its processes, and decides what to do now and when to look again. Order of
 * concerns: worker health, then requests and stale processes, then retries due, then new starts
 * (readiness order, resources all at once or not at all, max_holders never exceeded).
 */
export function plan(s: StateView, index: SchedulerIndex, rt: Runtime, cfg: PlanConfig): Effect[] {
  const out: Effect[] = [];
  let wake = rt.now + 1000;
  const free: string[] = [];

  for (const w of rt.workers.values()) {
    if (w.phase !== 'up') continue;
    const silent = rt.now - w.lastHeartbeat;
    const rec = s.worker(w.id);
    if (rec?.state === 'unresponsive') {
      if (silent < cfg.health_timeout_ms) out.push({ kind: 'recovered', worker: w.id });
      else if (w.unresponsiveSince !== null && rt.now - w.unresponsiveSince >= cfg.shutdown_after_ms) {
        out.push({ kind: 'shutdown', worker: w.id, trigger: 'unresponsive', reassign: true, restart: false });
        continue;
      } else if (w.unresponsiveSince !== null) wake = Math.min(wake, w.unresponsiveSince + cfg.shutdown_after_ms);
    } else if (silent >= cfg.health_timeout_ms) {
      out.push({ kind: 'unresponsive', worker: w.id, silent });
    } else wake = Math.min(wake, w.lastHeartbeat + cfg.health_timeout_ms);

    const req = rec?.pending_request;
    if (req) {
      out.push({ kind: 'shutdown', worker: w.id, trigger: `${req.kind}_requested`, reassign: req.reassign, restart: req.kind === 'restart' });
      continue;
    }
    if (w.key !== null) {
      const [ws, id] = splitKey(w.key);
      const t = s.task(ws, id);
      const stillOurs = t && (t.state === 'running' || t.state === 'validating') && t.attempt === w.attempt && t.worker_id === w.id;
      const recorded = t?.state === 'queued' && rt.inFlight.has(`start:${w.key}`);
      if (!stillOurs && !recorded && w.killing === null && !rt.inFlight.has(`start:${w.key}`)) out.push({ kind: 'kill_stale', worker: w.id });
      else if (w.deadline !== null && w.killing === null) {
        if (rt.now >= w.deadline) out.push({ kind: 'timeout', worker: w.id });
        else wake = Math.min(wake, w.deadline);
      }
      continue;
    }
    if (rec?.state === 'idle' || (rec?.state === 'busy' && w.settling !== null)) free.push(w.id);
  }

  for (const [key, due] of index.retrying) {
    if (due <= rt.now) {
      if (!rt.inFlight.has(`retry:${key}`)) {
        const [ws, id] = splitKey(key);
        out.push({ kind: 'retry_due', ws, id });
      }
    } else wake = Math.min(wake, due);
  }

  if (free.length > 0) startTasks(s, index, rt, cfg, free, out);
  out.push({ kind: 'wake_at', at: wake });
  return out;
}

function startTasks(s: StateView, index: SchedulerIndex, rt: Runtime, cfg: PlanConfig, free: string[], out: Effect[]): void {
  const used = new Map<string, number>();
  for (const w of rt.workers.values()) for (const [r, n] of Object.entries(w.holds)) used.set(r, (used.get(r) ?? 0) + n);
  const held = (rid: string): number => {
    const r = s.resource(rid);
    let n = 0;
    if (r) for (const [k, u] of Object.entries(r.holders)) if (!isHeldByRuntime(rt, k)) n += u;
    return n + (used.get(rid) ?? 0);
  };
  const putBack: ReadyEntry[] = [];
  const seen = new Set<string>();
  while (free.length > 0 && index.ready.size > 0) {
    const e = index.ready.pop()!;
    const t = s.task(e.ws, e.id);
    if (!t || t.state !== 'queued' || seen.has(e.key) || rt.inFlight.has(`start:${e.key}`)) continue;
    seen.add(e.key);
    const ws = s.workstream(e.ws);
    if (!ws || ws.state === 'completed' || ws.state === 'failed' || ws.state === 'cancelled') continue;
    let blockedOn: string | null = null;
    for (const [rid, units] of Object.entries(t.resources)) {
      const r = s.resource(rid);
      if (!r) { blockedOn = rid; break; }
      if (r.max_holders !== null && held(rid) + units > r.max_holders) { blockedOn = rid; break; }
    }
    if (blockedOn !== null) {
      putBack.push(e);
      const since = rt.waitingSince.get(e.key) ?? rt.now;
      if (!rt.waitingSince.has(e.key)) rt.waitingSince.set(e.key, since);
      if (!t.resource_warned && rt.now - since >= cfg.resource_wait_warn_ms && !rt.inFlight.has(`warn:${e.key}`)) {
        out.push({ kind: 'resource_warn', ws: e.ws, id: e.id, resource: blockedOn, waited: rt.now - since });
      }
      continue;
    }
    rt.waitingSince.delete(e.key);
    for (const [rid, units] of Object.entries(t.resources)) used.set(rid, (used.get(rid) ?? 0) + units);
    out.push({ kind: 'start', ws: e.ws, id: e.id, worker: free.shift()! });
  }
  index.requeue(putBack);
}

/** A holder the runtime already counts (its worker still runs it), so it is not counted twice. */
function isHeldByRuntime(rt: Runtime, key: string): boolean {
  for (const w of rt.workers.values()) if (w.key === key) return true;
  return false;
}

export { taskKey };
