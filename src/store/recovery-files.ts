import { listCheckpointSeqs } from './derived.js';
import { type FsLayer, readWhole } from './fsio.js';
import type { StatePaths } from './paths.js';
import { checkCheckpoint, parseDoc, type CheckpointDoc } from './snapshot.js';

/**
 * Read-only access to the files the recovery tools look at besides the log: checkpoints (with
 * their hash checked), the scheduler's live worker health (workers.json) and worker logs.
 */

/** One checkpoint file as found on disk: its content when the hash holds, else why it is unusable. */
export interface CheckpointEntry {
  /** `latest` or the seq in the file name. */
  name: string;
  file: string;
  seq: number | null;
  checkpoint_at: string | null;
  hash_ok: boolean;
  error: string | null;
  doc: CheckpointDoc | null;
}

function entry(io: FsLayer, name: string, file: string, rel: string): CheckpointEntry {
  try {
    const buf = readWhole(io, file);
    if (!buf) return { name, file: rel, seq: null, checkpoint_at: null, hash_ok: false, error: 'missing', doc: null };
    const doc = checkCheckpoint(parseDoc(buf.toString('utf8'), rel), rel);
    return { name, file: rel, seq: doc.seq, checkpoint_at: doc.checkpoint_at, hash_ok: true, error: null, doc };
  } catch (e) {
    return { name, file: rel, seq: null, checkpoint_at: null, hash_ok: false, error: (e as Error).message, doc: null };
  }
}

/** Every checkpoint of a workstream, oldest first, then `latest` (when it exists). */
export function listCheckpoints(io: FsLayer, paths: StatePaths, wsId: string): CheckpointEntry[] {
  const out = listCheckpointSeqs(io, paths, wsId).map((seq) => entry(io, String(seq), paths.checkpoint(wsId, seq), `checkpoints/${wsId}/${seq}.json`));
  if (io.lstatSync(paths.checkpointLatest(wsId))) out.push(entry(io, 'latest', paths.checkpointLatest(wsId), `checkpoints/${wsId}_latest.json`));
  return out;
}

/** A worker's live health as the running scheduler last wrote it to workers.json. */
export interface WorkerHealth {
  id: string;
  pid: number | null;
  state: string;
  task: string | null;
  last_heartbeat_at: string | null;
  silent_ms: number | null;
}

/** workers.json as the scheduler wrote it, or null when it is missing or unreadable. */
export function readWorkersFile(io: FsLayer, paths: StatePaths): { written_at: string | null; scheduler_pid: number | null; workers: WorkerHealth[] } | null {
  try {
    const buf = readWhole(io, paths.workers);
    if (!buf) return null;
    const doc = parseDoc(buf.toString('utf8'), 'workers.json');
    const workers = Array.isArray(doc.workers) ? (doc.workers as WorkerHealth[]) : [];
    const sched = doc.scheduler as { pid?: unknown } | undefined;
    return { written_at: typeof doc.written_at === 'string' ? doc.written_at : null, scheduler_pid: typeof sched?.pid === 'number' ? sched.pid : null, workers };
  } catch {
    return null;
  }
}

/** The last `lines` lines of a worker's stderr log, or null when it has none. */
export function workerLogTail(io: FsLayer, paths: StatePaths, workerId: string, lines: number): { path: string; lines: string[]; bytes: number } | null {
  const file = paths.workerLog(workerId);
  const buf = readWhole(io, file);
  if (!buf) return null;
  const all = buf.toString('utf8').split('\n');
  if (all[all.length - 1] === '') all.pop();
  return { path: file, lines: all.slice(-lines), bytes: buf.length };
}
