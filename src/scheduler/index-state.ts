import type { StateView } from '../model/state.js';
import type { LogRecord, Task } from '../model/types.js';
import { taskKey } from '../model/types.js';
import { Heap } from './heap.js';

interface Entry {
  key: string;
  ws: string;
  id: string;
  priority: number;
  path: number;
  wsRank: number;
  order: number;
}

/**
 * What the scheduler needs to find fast, kept up to date from every applied record so planning does
 * not scan all tasks: queued tasks in readiness order (priority, then longest remaining path, then
 * submission and definition order — DESIGN §2), retrying tasks by due time, and active tasks.
 * Stale entries (a task that left the state it was indexed for) are skipped when met.
 */
export class SchedulerIndex {
  readonly ready = new Heap<Entry>(before);
  readonly retrying = new Map<string, number>();
  readonly active = new Set<string>();
  private readonly wsRank = new Map<string, number>();

  constructor(private readonly state: StateView) {
    const ids = state.workstreamIds().sort((a, b) => state.workstream(a)!.submitted_at.localeCompare(state.workstream(b)!.submitted_at));
    for (const ws of ids) {
      this.rank(ws);
      for (const id of state.workstream(ws)!.task_ids) this.track(state.task(ws, id)!);
    }
  }

  private rank(ws: string): number {
    let r = this.wsRank.get(ws);
    if (r === undefined) {
      r = this.wsRank.size;
      this.wsRank.set(ws, r);
    }
    return r;
  }

  /** Follows one applied record. */
  onRecord(r: LogRecord): void {
    if (typeof r.workstream_id !== 'string') return;
    if (r.type === 'workstream_submitted' || r.type === 'workstream_reopened' || r.type === 'workstream_rolled_back' || r.type === 'workstream_reset') {
      const ws = this.state.workstream(r.workstream_id);
      if (ws) for (const id of ws.task_ids) this.track(this.state.task(ws.id, id)!);
      return;
    }
    // task_updated moves no task but may change its priority or path: a queued one is indexed again.
    if (typeof r.task_id !== 'string' || (r.to === undefined && r.type !== 'task_updated')) return;
    const t = this.state.task(r.workstream_id, r.task_id);
    if (t) this.track(t);
  }

  private track(t: Task): void {
    const key = taskKey(t.workstream_id, t.id);
    if (t.state === 'queued') {
      this.ready.push({ key, ws: t.workstream_id, id: t.id, priority: t.priority, path: t.path_length, wsRank: this.rank(t.workstream_id), order: t.order });
    }
    if (t.state === 'retrying' && t.retry_at) this.retrying.set(key, Date.parse(t.retry_at));
    else this.retrying.delete(key);
    if (t.state === 'running' || t.state === 'validating') this.active.add(key);
    else this.active.delete(key);
  }

  /**
   * Looks at a task again (an attempt sent to a worker ended without being recorded as started):
   * if it is still queued it goes back into the ready queue. A duplicate entry is harmless.
   */
  retrack(key: string): void {
    const i = key.indexOf('/');
    const t = this.state.task(key.slice(0, i), key.slice(i + 1));
    if (t) this.track(t);
  }

  /** Puts back entries popped but not started this round (their resources were busy). */
  requeue(entries: Entry[]): void {
    for (const e of entries) this.ready.push(e);
  }
}

export type ReadyEntry = Entry;

function before(a: Entry, b: Entry): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.path !== b.path) return a.path > b.path;
  if (a.wsRank !== b.wsRank) return a.wsRank < b.wsRank;
  return a.order < b.order;
}
