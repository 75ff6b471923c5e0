import { CairnError } from '../../errors.js';
import type { CheckpointPoint } from '../../history/checkpoint-finder.js';
import { canonicalize } from '../../log/canonical.js';
import { resolveWorkstream } from '../../model/resolve.js';
import type { Workstream } from '../../model/types.js';
import { checkpointAt, fileMarks, markOf, scanPoints } from '../../store/checkpoint-scan.js';
import { listCheckpoints as listFiles } from '../../store/recovery-files.js';
import { type CheckpointDoc, checkpointDoc } from '../../store/snapshot.js';
import type { Store } from '../../store/store.js';
import { type CommonOptions, withStore } from '../common.js';
import { namesOf, namesReader, resolveWhich } from './named.js';

/**
 * The checkpoints of a workstream as the log implies them (DESIGN §10): every point at which its
 * tasks moved, whether or not a file was written for it. The files in checkpoints/ are a cache:
 * they are read only to say which points have one, and a file is shown in place of the computed
 * document only when its hash holds and it says what the log says.
 */

/** `latest` or a seq, as --to-checkpoint and --show take it; anything else is BAD_INPUT. */
export function parseWhich(which: string, flag: string): 'latest' | number {
  if (which === 'latest') return 'latest';
  if (/^[1-9]\d{0,15}$/.test(which)) return Number(which);
  throw new CairnError('BAD_INPUT', `${flag} ${JSON.stringify(which)} is neither latest nor a seq`, { hint: `Give ${flag} latest, or a seq from: cairn checkpoints --workstream-id <id>` });
}

/** The workstream, or UNKNOWN_WORKSTREAM listing the ids there are. */
function workstreamOf(store: Store, id: string): Workstream {
  try {
    return resolveWorkstream(store.state, id);
  } catch (e) {
    if (!(e instanceof CairnError) || e.code !== 'UNKNOWN_WORKSTREAM') throw e;
    const known = store.state.workstreamIds();
    throw new CairnError('UNKNOWN_WORKSTREAM', e.message, {
      details: { ...e.details, known },
      hint: known.length ? `Known workstreams: ${known.slice(0, 20).join(', ')}${known.length > 20 ? `, … (${known.length}; cairn status --all)` : ''}` : 'There are no workstreams yet: cairn submit <spec.json>',
    });
  }
}

/**
 * The checkpoint of `wsId` that `which` names, computed from the log: `latest` is the workstream as
 * its last task transition left it (what <ws>_latest.json holds when a command ends); a seq is a
 * replay up to the end of the decision it belongs to, which must have moved one of its tasks.
 */
export function checkpointFor(store: Store, wsId: string, which: 'latest' | number): CheckpointDoc {
  if (which === 'latest') return checkpointDoc(store.stateInternal, wsId);
  return checkpointAt(store.io, store.paths, wsId, which, store.state.workstream(wsId)!.last_task_seq);
}

export interface PointView extends CheckpointPoint {
  /** A checkpoint file for this seq exists, its hash holds and it says what the log says. */
  written: boolean;
  file: string | null;
  /** Why a file that exists for this seq is not counted as written (damaged, or differs from the log). */
  file_problem: string | null;
  /** The names operators gave this point (cairn checkpoint), oldest first. */
  names: string[];
}

/**
 * checkpoints: every point of a workstream computed from the log, oldest first, the written ones
 * marked; `checkpoints` keeps listing the files themselves with their hash status, as before.
 */
export async function listCheckpoints(o: CommonOptions & { workstream: string }) {
  return withStore(o, { readOnly: true }, async (store) => {
    const ws = workstreamOf(store, o.workstream);
    const files = fileMarks(store.io, store.paths, ws.id);
    const scan = scanPoints(store.io, store.paths, ws.id, { capture: new Set(files.keys()) });
    const named = namesOf(namesReader(o)(), ws.id);
    const points: PointView[] = scan.points.map((p) => {
      const m = markOf(files.get(p.seq), scan.captured.get(p.seq));
      return { ...p, written: m.written, file: m.file, file_problem: m.problem, names: named.filter((n) => n.checkpoint_seq === p.seq).map((n) => n.name) };
    });
    const list = listFiles(store.io, store.paths, ws.id).map((c) => ({
      name: c.name, file: c.file, seq: c.seq, checkpoint_at: c.checkpoint_at, hash_ok: c.hash_ok, error: c.error,
      ...(c.doc ? summary(c.doc) : {}),
    }));
    // The named checkpoints on their own too: who named which point, when and why.
    const names = named.map((n) => ({ name: n.name, seq: n.checkpoint_seq, named_at_seq: n.seq, named_at: n.ts, operator: n.operator, reason: n.reason }));
    return { workstream_id: ws.id, state: ws.state, last_task_seq: ws.last_task_seq, points, names, checkpoints: list };
  });
}

/**
 * checkpoints --show: the document a checkpoint file at that point holds (the file itself when one
 * is written and agrees with the log, else the same document computed from the log).
 */
export async function showCheckpoint(o: CommonOptions & { workstream: string; show: string }): Promise<{ doc: CheckpointDoc; written: boolean; file: string | null; file_problem: string | null }> {
  return withStore(o, { readOnly: true }, async (store) => {
    const ws = workstreamOf(store, o.workstream);
    const which = resolveWhich(o.show, '--show', ws.id, namesReader(o));
    const doc = checkpointFor(store, ws.id, which);
    const entries = listFiles(store.io, store.paths, ws.id);
    const entry = which === 'latest' ? entries.find((e) => e.name === 'latest') : entries.find((e) => e.name === String(which));
    const m = markOf(entry, doc);
    // Keys in canonical order, as the files are written: printed with two-space indent, the same bytes.
    return { doc: canonicalize(m.written ? m.doc! : doc) as CheckpointDoc, written: m.written, file: m.file, file_problem: m.problem };
  });
}

function summary(d: CheckpointDoc) {
  return { completed: d.completed_tasks.length, failed: d.failed_tasks.length, pending: d.pending_tasks.length, tasks: Object.keys(d.tasks).length };
}
