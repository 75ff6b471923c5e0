import type { State } from '../model/state.js';
import type { LogRecord } from '../model/types.js';

/**
 * The checkpoints of one workstream a log implies (DESIGN §10: files are a cache of these): one
 * point at the end of each decision that moved one of its tasks, named by the seq of its last task
 * transition then (what store/checkpoint-points.ts calls an implied checkpoint). Pure: the caller
 * replays the log and calls `before`/`after` around each record's apply; the finder says when a
 * decision ends on the point the caller asked for, so the caller can take the document right then
 * and stop reading.
 */

/** One implied checkpoint, in the order of the log. */
export interface CheckpointPoint {
  /** The seq of the workstream's last task transition at the end of the decision. */
  seq: number;
  checkpoint_at: string;
  completed: number;
  failed: number;
  /** Neither completed, failed, skipped nor cancelled (as a checkpoint file's pending_tasks). */
  pending: number;
  /** The decision that made the point: its seq range, the record types that moved the workstream's tasks, and who decided it (null: automatic). */
  decision: { first_seq: number; last_seq: number; types: string[]; operator: string | null; action: string | null };
}

/** What the finder says after a record was applied. */
export type FinderStep =
  | 'more' // keep reading
  | 'target' // this decision ends on the point asked for: take the document from the state now
  | 'enough'; // the point after the one asked for is known: nothing further is needed

export class CheckpointFinder {
  readonly points: CheckpointPoint[] = [];
  /** The point the target seq resolved to, once its decision ended. */
  found: CheckpointPoint | null = null;
  private left = 0;
  private open: { first: number; lastBefore: number; types: Set<string>; operator: string | null; action: string | null; hit: boolean } | null = null;

  /** `target`: a seq asked for (rollback --to-checkpoint, checkpoints --show); without it, every point is listed. */
  constructor(readonly workstreamId: string, private readonly target?: number) {}

  /** Call right before `r` is applied. */
  before(state: State, r: LogRecord): void {
    if (this.left > 0) return;
    this.left = typeof r.batch === 'number' && r.batch > 1 ? r.batch : 1;
    const ws = state.workstreams.get(this.workstreamId);
    this.open = { first: r.seq, lastBefore: ws?.last_task_seq ?? -1, types: new Set(), operator: r.operator ?? null, action: typeof r.action === 'string' ? r.action : null, hit: false };
  }

  /** Call right after `r` was applied. */
  after(state: State, r: LogRecord): FinderStep {
    const o = this.open!;
    const ws = state.workstreams.get(this.workstreamId);
    // A record that set last_task_seq to its own seq moved a task of this workstream (or submitted it).
    if (ws && ws.last_task_seq === r.seq) {
      o.types.add(r.type);
      if (r.seq === this.target) o.hit = true;
    }
    if (--this.left > 0) return 'more';
    this.open = null;
    if (!ws || ws.last_task_seq === o.lastBefore) return 'more';
    const c = ws.counts;
    const p: CheckpointPoint = {
      seq: ws.last_task_seq,
      checkpoint_at: ws.last_task_at,
      completed: c.completed,
      failed: c.failed,
      pending: ws.task_ids.length - c.completed - c.failed - c.skipped - c.cancelled,
      decision: { first_seq: o.first, last_seq: r.seq, types: [...o.types], operator: o.operator, action: o.action },
    };
    this.points.push(p);
    if (this.target === undefined) return 'more';
    if (o.hit) {
      this.found = p;
      return 'target';
    }
    return p.seq > this.target ? 'enough' : 'more';
  }

  /** The points just before and just after the target (for the message when it is not a point). */
  neighbours(): { before: number | null; after: number | null } {
    const t = this.target ?? Infinity;
    let before: number | null = null;
    let after: number | null = null;
    for (const p of this.points) {
      if (p.seq < t) before = p.seq;
      else if (p.seq > t && after === null) after = p.seq;
    }
    return { before, after };
  }
}
