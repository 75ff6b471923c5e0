import * as path from 'node:path';
import { prettyJson } from '../log/canonical.js';
import type { State } from '../model/state.js';
import type { LogRecord } from '../model/types.js';
import { atomicWrite } from './atomic.js';
import { ensureDir, listCheckpointSeqs } from './derived.js';
import { ioError, type FsLayer } from './fsio.js';
import type { StatePaths } from './paths.js';
import { type CheckpointDoc, checkpointDocOf } from './snapshot.js';

/**
 * The checkpoints a log implies (DESIGN §4, §10), a pure function of the log: for each workstream,
 * its tasks as they stood at the end of each of its last `keep` decisions that moved them, named by
 * the seq of its last task transition then (what the writer would leave if it wrote after every
 * decision; it writes with the snapshot, so its files are some of these). restore-state and
 * repair-state write them all; rollback can then go back to any of them.
 *
 * Computed in the one replay those commands do anyway: before a record is applied, the values it
 * may change (each task's state and retry count) are kept, once per decision; when a decision moved
 * a workstream's tasks, that is a point. At the end, the documents are built backwards from the
 * final state, undoing one point's changes at a time, so memory grows with what the last `keep`
 * decisions changed, not with the log.
 */
type Vals = { state: string; retry_count: number } | null;

interface Point {
  seq: number;
  at: string;
  /** Each task the decision changed, as it was before (null: it did not exist yet). */
  before: Map<string, Vals>;
}

export class CheckpointTracker {
  private readonly points = new Map<string, Point[]>();
  /** Values kept in the open decision, by workstream. */
  private pending = new Map<string, { lastSeq: number; before: Map<string, Vals> }>();
  /** Changes of a decision that moved tasks without a new last task transition: folded into the next point. */
  private readonly silent = new Map<string, Map<string, Vals>>();
  private left = 0;

  constructor(private readonly keep: number) {}

  /** Call with each record right before it is applied to `state`. */
  before(state: State, r: LogRecord): void {
    if (this.left === 0) this.left = typeof r.batch === 'number' && r.batch > 1 ? r.batch : 1;
    const wsId = r.workstream_id;
    if (typeof wsId !== 'string') return;
    const ws = state.workstreams.get(wsId);
    let p = this.pending.get(wsId);
    if (!p) this.pending.set(wsId, (p = { lastSeq: ws?.last_task_seq ?? -1, before: new Map() }));
    if (!ws) return; // a submission: its tasks did not exist before
    const keepOne = (tid: string): void => {
      if (p!.before.has(tid)) return;
      const t = state.tasks.get(`${wsId}/${tid}`);
      p!.before.set(tid, t ? { state: t.state, retry_count: t.retry_count } : null);
    };
    if (typeof r.task_id === 'string') keepOne(r.task_id);
    else for (const tid of ws.task_ids) keepOne(tid); // a record about the whole workstream may move any task
  }

  /** Call after each record was applied. */
  after(state: State): void {
    if (--this.left > 0) return;
    for (const [wsId, p] of this.pending) {
      const ws = state.workstreams.get(wsId);
      if (!ws) continue;
      const silent = this.silent.get(wsId);
      if (ws.last_task_seq === p.lastSeq) {
        // Keep the earliest value of each task for the next point.
        if (!silent) this.silent.set(wsId, p.before);
        else for (const [k, v] of p.before) if (!silent.has(k)) silent.set(k, v);
        continue;
      }
      if (silent) {
        for (const [k, v] of silent) p.before.set(k, v);
        this.silent.delete(wsId);
      }
      let list = this.points.get(wsId);
      if (!list) this.points.set(wsId, (list = []));
      list.push({ seq: ws.last_task_seq, at: ws.last_task_at, before: p.before });
      if (list.length > this.keep) list.shift();
    }
    this.pending = new Map();
  }

  /** Every implied checkpoint of every workstream of `state` (the state at the end of the replay), oldest first. */
  docs(state: State): Map<string, CheckpointDoc[]> {
    const out = new Map<string, CheckpointDoc[]>();
    for (const [wsId, list] of this.points) {
      const ws = state.workstreams.get(wsId);
      if (!ws) continue;
      const vals = new Map<string, Vals>();
      for (const tid of ws.task_ids) {
        const t = state.tasks.get(`${wsId}/${tid}`)!;
        vals.set(tid, { state: t.state, retry_count: t.retry_count });
      }
      // Changes after the newest point (none, as every task change is a task transition) are undone first.
      for (const [tid, v] of this.silent.get(wsId) ?? []) vals.set(tid, v);
      const docs: CheckpointDoc[] = [];
      const oldest = list[0]!.seq;
      for (let i = list.length - 1; i >= 0; i--) {
        const p = list[i]!;
        const ids = ws.task_ids.filter((tid) => vals.get(tid));
        const chain = { previous: i > 0 ? list[i - 1]!.seq : null, oldest_kept: oldest };
        docs.push(checkpointDocOf(wsId, ids, (tid) => ({ ...vals.get(tid)!, resources: state.tasks.get(`${wsId}/${tid}`)!.resources }), p.seq, p.at, chain));
        for (const [tid, v] of p.before) vals.set(tid, v);
      }
      out.set(wsId, docs.reverse());
    }
    return out;
  }
}

/**
 * Writes every implied checkpoint (`docs`, from a tracker) and `<ws>_latest.json` as the newest of
 * them, and removes every other checkpoint file of the folder. Under the state lock (the caller's).
 * Returns how many files it wrote and removed.
 */
export function writeImpliedCheckpoints(io: FsLayer, paths: StatePaths, docs: Map<string, CheckpointDoc[]>): { written: number; removed: number } {
  ensureDir(io, paths.checkpoints);
  const implied = new Set<string>();
  let written = 0;
  for (const [ws, list] of docs) {
    ensureDir(io, paths.checkpointDir(ws));
    for (const d of list) {
      atomicWrite(io, paths.checkpoint(ws, d.seq), prettyJson(d));
      implied.add(`${ws}/${d.seq}.json`);
      written++;
    }
    const newest = list.at(-1);
    if (newest) implied.add(`${ws}_latest.json`);
    if (newest) atomicWrite(io, paths.checkpointLatest(ws), prettyJson(newest));
  }
  let removed = 0;
  for (const f of io.readdirSync(paths.checkpoints)) {
    const st = io.lstatSync(path.join(paths.checkpoints, f));
    if (!st || st.isSymbolicLink()) continue;
    if (st.isFile() && f.endsWith('_latest.json') && !implied.has(f)) removed += unlink(io, path.join(paths.checkpoints, f));
    if (!st.isDirectory()) continue;
    let seqs: number[];
    try {
      seqs = listCheckpointSeqs(io, paths, f);
    } catch {
      continue; // not a workstream id: not ours
    }
    for (const seq of seqs) if (!implied.has(`${f}/${seq}.json`)) removed += unlink(io, paths.checkpoint(f, seq));
  }
  return { written, removed };
}

function unlink(io: FsLayer, file: string): number {
  try {
    io.unlinkSync(file);
    return 1;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw ioError('unlink', `could not remove ${file}`, e);
  }
}
