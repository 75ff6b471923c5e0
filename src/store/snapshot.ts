import { createHash } from 'node:crypto';
import { CairnError } from '../errors.js';
import { compactJson } from '../log/canonical.js';
import { parseCrcHex } from '../log/codec.js';
import { MAX_DEPTH, shapeProblem } from '../log/shape.js';
import { NO_RECORD_TS, State, emptyMetrics } from '../model/state.js';
import { TASK_STATES, TERMINAL_WORKSTREAM_STATES, WORKER_STATES, WORKSTREAM_STATES, emptyCounts } from '../model/states.js';
import type { Resource, Task, Worker, Workstream } from '../model/types.js';
import { encodeSnapshotFile, fileHashMatches, SNAPSHOT_FILE_VERSION } from './snapshot-file.js';

/**
 * Version of current.json, archive and checkpoint files this code writes and reads; a newer version
 * is refused, never guessed at. Every version-1 file carries a sha-256 `hash` of its content, and a
 * file without one is treated like a file whose hash does not match: never trusted. Early builds
 * wrote current.json and archive files without a hash; such a file is named in the load warnings
 * and the snapshot that needs it is ignored (the log is replayed instead), validate-state reports
 * it, and the next command that writes (or restore-state, repair-state) rewrites it with its hash.
 * That is why adding the hash did not bump the version: no reader of version 1 trusts a file without one.
 */
export const SCHEMA_VERSION = 1;

export type WorkstreamDoc = Workstream & { tasks: Record<string, Task> };

export interface SnapshotDoc {
  schema_version: number;
  seq: number;
  crc: string;
  log_offset: number;
  written_at: string;
  workstreams: Record<string, WorkstreamDoc>;
  /** Terminal workstreams, kept in archive/<id>.json, with the seq their archive file was written at. */
  archived: Record<string, number>;
  workers: Record<string, Worker>;
  resources: Record<string, Resource>;
  scheduler: State['sched'];
  metrics: State['metricsData'];
  /** sha-256 of the canonical content without this field: a hand-edited snapshot is detected, not trusted. */
  hash: string;
}

export interface ArchiveDoc {
  schema_version: number;
  seq: number;
  workstream: WorkstreamDoc;
  /** sha-256 of the canonical content without this field: an edited or damaged archive file is detected, not trusted. */
  hash: string;
}

export function workstreamDoc(s: State, id: string): WorkstreamDoc {
  const ws = s.workstreams.get(id)!;
  const tasks: Record<string, Task> = {};
  for (const tid of ws.task_ids) tasks[tid] = s.tasks.get(`${id}/${tid}`)!;
  return { ...ws, tasks };
}

/** The archive file of a terminal workstream, as of `seq`, with its hash. */
export function archiveDoc(s: State, id: string): ArchiveDoc {
  const body = { schema_version: SCHEMA_VERSION, seq: s.seq, workstream: workstreamDoc(s, id) };
  return { ...body, hash: checkpointHash(body) };
}

export function isArchived(ws: Workstream): boolean {
  return TERMINAL_WORKSTREAM_STATES.has(ws.state);
}

/**
 * The snapshot of a state: active workstreams inline, terminal ones referenced by archive seq.
 * `writtenAt` is the ts of the state's last record when written (DerivedWriter), so the same state
 * gives the same bytes whenever it is written: a committed current.json never changes only because
 * time passed.
 */
export function snapshotDoc(s: State, logOffset: number, writtenAt: string, archivedAt: Map<string, number>): SnapshotDoc {
  const workstreams: Record<string, WorkstreamDoc> = {};
  const archived: Record<string, number> = {};
  for (const [id, ws] of s.workstreams) {
    if (isArchived(ws)) archived[id] = archivedAt.get(id) ?? s.seq;
    else workstreams[id] = workstreamDoc(s, id);
  }
  const body = {
    schema_version: SCHEMA_VERSION,
    seq: s.seq,
    crc: s.crc,
    log_offset: logOffset,
    written_at: writtenAt,
    workstreams,
    archived,
    workers: Object.fromEntries(s.workers),
    resources: Object.fromEntries(s.resources),
    scheduler: s.sched,
    metrics: s.metricsData,
  };
  return { ...body, hash: checkpointHash(body) };
}

/**
 * current.json's bytes (version 2, snapshot-file.ts): the same content as snapshotDoc, tasks one
 * per line, hashed over the file's bytes.
 */
export function snapshotFile(s: State, logOffset: number, writtenAt: string, archivedAt: Map<string, number>): Buffer {
  const { hash: _canonical, ...body } = snapshotDoc(s, logOffset, writtenAt, archivedAt);
  return encodeSnapshotFile({ ...body, schema_version: SNAPSHOT_FILE_VERSION });
}

/** The text or bytes each parsed document came from: a version-2 snapshot's hash is of its bytes. */
const sourceOf = new WeakMap<object, string | Buffer>();

function bad(what: string, why: string): never {
  throw new CairnError('SNAPSHOT_INVALID', `${what}: ${why}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Parses JSON text (or UTF-8 bytes) of a derived file, refusing `__proto__` keys. */
export function parseDoc(source: string | Buffer, what: string): Record<string, unknown> {
  const text = typeof source === 'string' ? source : source.toString('utf8');
  if (text.trim() === '') bad(what, 'the file is empty');
  let v: unknown;
  try {
    // V8's JSON.parse is iterative: deep nesting cannot overflow the stack here; it is refused below.
    v = JSON.parse(text);
  } catch (e) {
    bad(what, `not valid JSON (${(e as Error).message})`);
  }
  if (!isObj(v)) bad(what, 'not a JSON object');
  // After parsing, so a `__proto__` key is caught however it is spelled (`\u005f_proto__` too).
  const shape = shapeProblem(v);
  if (shape === 'proto') bad(what, 'it contains a __proto__ key');
  if (shape === 'deep') bad(what, `it is nested deeper than ${MAX_DEPTH} levels (cairn never writes that)`);
  sourceOf.set(v, source);
  return v;
}

/** Deeper than any file cairn writes; deeper input would overflow the recursive code that compares and hashes documents. */


/**
 * Checks a parsed snapshot's shape well enough that loading it cannot crash or mislead. `hashChecked`:
 * the caller judged the hash already (validate-state, which reports it and still compares the content).
 * `forLoading`: the state will be built from it (load, replace, history snapshots), so it must also
 * hold every counter this build keeps; a reader that only looks at it (repair's sources, backups,
 * pruning, validate-state) takes a snapshot of an older build too.
 */
export function checkSnapshot(v: Record<string, unknown>, what: string, opts: { hashChecked?: boolean; forLoading?: boolean } = {}): SnapshotDoc {
  if (typeof v.schema_version !== 'number') bad(what, 'schema_version is missing');
  if (v.schema_version > SNAPSHOT_FILE_VERSION) bad(what, `schema_version ${v.schema_version} is newer than this cairn reads (${SNAPSHOT_FILE_VERSION})`);
  if (!Number.isSafeInteger(v.seq) || (v.seq as number) < 0) bad(what, 'seq is not a non-negative integer');
  if (typeof v.crc !== 'string' || parseCrcHex(v.crc) < 0) bad(what, 'crc is not 8 hex digits');
  if (!Number.isSafeInteger(v.log_offset) || (v.log_offset as number) < 0) bad(what, 'log_offset is not a non-negative integer');
  for (const k of ['workstreams', 'archived', 'workers', 'resources', 'metrics']) if (!isObj(v[k])) bad(what, `${k} is not an object`);
  if (!opts.hashChecked && !snapshotHashMatches(v)) bad(what, 'its hash does not match its content (edited or damaged)');
  // Counters an older cairn did not keep cannot be made up from the log after the snapshot: the
  // snapshot is not used (the log is replayed from further back), and the next write replaces it.
  if (opts.forLoading && !isObj((v.metrics as Record<string, unknown>).durations_ms)) bad(what, 'its metrics were written by an older cairn (no durations_ms), so the log is replayed instead');
  for (const [id, ws] of Object.entries(v.workstreams as object)) checkWorkstream(ws, `${what}: workstream ${id}`);
  for (const [id, w] of Object.entries(v.workers as object)) {
    if (!isObj(w) || w.id !== id || !(WORKER_STATES as readonly unknown[]).includes(w.state)) bad(what, `worker ${id} is malformed`);
  }
  for (const [id, r] of Object.entries(v.resources as object)) {
    if (!isObj(r) || r.id !== id || !isObj(r.holders)) bad(what, `resource ${id} is malformed`);
  }
  return v as unknown as SnapshotDoc;
}

/** Checks a parsed archive file: its version, its hash and its workstream's shape. */
export function checkArchive(v: Record<string, unknown>, what: string): ArchiveDoc {
  if (typeof v.schema_version !== 'number') bad(what, 'schema_version is missing');
  if (v.schema_version > SCHEMA_VERSION) bad(what, `schema_version ${v.schema_version} is newer than this cairn reads (${SCHEMA_VERSION})`);
  if (!Number.isSafeInteger(v.seq)) bad(what, 'seq is not an integer');
  if (typeof v.hash !== 'string') bad(what, 'it has no hash (written by an older cairn, or edited), so it cannot be trusted');
  if (!hashMatches(v)) bad(what, 'its hash does not match its content (edited or damaged)');
  checkWorkstream(v.workstream, what);
  return v as unknown as ArchiveDoc;
}

export function checkWorkstream(ws: unknown, what: string): asserts ws is WorkstreamDoc {
  if (!isObj(ws) || typeof ws.id !== 'string' || !(WORKSTREAM_STATES as readonly unknown[]).includes(ws.state)) bad(what, 'malformed');
  if (!Array.isArray(ws.task_ids) || !isObj(ws.tasks)) bad(what, 'task_ids or tasks missing');
  for (const tid of ws.task_ids as unknown[]) {
    const t = (ws.tasks as Record<string, unknown>)[tid as string];
    if (!isObj(t) || t.id !== tid || t.workstream_id !== ws.id || !(TASK_STATES as readonly unknown[]).includes(t.state)) {
      bad(what, `task ${String(tid)} is malformed`);
    }
    if (!Array.isArray(t.depends_on) || !isObj(t.resources)) bad(what, `task ${String(tid)} is malformed`);
  }
}

/**
 * Adds one workstream document to a state, recomputing what is derived (counts, dependents). `own`:
 * the caller hands over a freshly parsed document it will not read again, so its task objects become
 * the state's without a copy (10,000 fewer objects to build and collect on a big load).
 */
export function addWorkstream(s: State, doc: WorkstreamDoc, own = false): void {
  const { tasks, ...rest } = doc;
  const ws: Workstream = { ...rest, counts: emptyCounts(), task_ids: [...doc.task_ids] };
  const dependents = new Map<string, string[]>();
  for (const tid of ws.task_ids) {
    const t = own ? tasks[tid]! : { ...tasks[tid]! };
    ws.counts[t.state] += 1;
    s.putTask(t); // checkWorkstream made sure t.workstream_id and t.id are ws.id and tid
    for (const d of t.depends_on) {
      const list = dependents.get(d);
      if (list) list.push(tid);
      else dependents.set(d, [tid]);
    }
  }
  s.workstreams.set(ws.id, ws);
  s.deps.set(ws.id, dependents);
}

/** Builds a State from a checked snapshot (archived workstreams are added by the caller); `own` as addWorkstream. */
export function stateFromSnapshot(doc: SnapshotDoc, own = false): State {
  const s = new State();
  s.seq = doc.seq;
  s.crc = doc.crc;
  // The ts of its last record: what this code writes as written_at (older builds wrote the clock).
  s.lastTs = typeof doc.written_at === 'string' ? doc.written_at : NO_RECORD_TS;
  for (const ws of Object.values(doc.workstreams)) addWorkstream(s, ws, own);
  for (const w of Object.values(doc.workers)) s.workers.set(w.id, { ...w });
  for (const r of Object.values(doc.resources)) s.resources.set(r.id, { ...r, holders: { ...r.holders } });
  s.sched = doc.scheduler ?? null;
  s.metricsData = { ...emptyMetrics(), ...doc.metrics };
  return s;
}

/** A checkpoint: one workstream as of its last task transition (DESIGN §4). */
export interface CheckpointDoc {
  schema_version: number;
  workstream_id: string;
  seq: number;
  checkpoint_at: string;
  /** seq of the workstream's checkpoint file written before this one; null when none was on disk. */
  previous: number | null;
  /** The oldest checkpoint file of the workstream left on disk when this one was written (pruning keeps the newest checkpoints_keep). */
  oldest_kept: number;
  tasks: Record<string, { state: string; retry_count: number }>;
  completed_tasks: string[];
  failed_tasks: string[];
  pending_tasks: string[];
  resources_held: Record<string, string[]>;
  hash: string;
}

/**
 * Where a checkpoint file stands among its workstream's files: validate-state follows `previous`
 * from `<ws>_latest.json` down to `oldest_kept`, so a deleted file in between is noticed (pruning
 * removes the oldest only, never one in the middle).
 */
export interface CheckpointChain {
  previous: number | null;
  oldest_kept: number;
}

export function checkpointDoc(s: State, wsId: string, chain?: CheckpointChain): CheckpointDoc {
  const ws = s.workstreams.get(wsId)!;
  return checkpointDocOf(wsId, ws.task_ids, (tid) => s.tasks.get(`${wsId}/${tid}`)!, ws.last_task_seq, ws.last_task_at, chain ?? { previous: null, oldest_kept: ws.last_task_seq });
}

/** A checkpoint of workstream `wsId` at `seq` from each task's state, retry count and resources. */
export function checkpointDocOf(
  wsId: string, taskIds: readonly string[], task: (id: string) => { state: string; retry_count: number; resources: Record<string, number> }, seq: number, at: string, chain: CheckpointChain,
): CheckpointDoc {
  const tasks: CheckpointDoc['tasks'] = {};
  const completed: string[] = [];
  const failed: string[] = [];
  const pending: string[] = [];
  const held: Record<string, string[]> = {};
  for (const tid of taskIds) {
    const t = task(tid);
    tasks[tid] = { state: t.state, retry_count: t.retry_count };
    if (t.state === 'completed') completed.push(tid);
    else if (t.state === 'failed') failed.push(tid);
    else if (t.state !== 'skipped' && t.state !== 'cancelled') pending.push(tid);
    if (t.state === 'running' || t.state === 'validating') {
      for (const rid of Object.keys(t.resources)) (held[rid] ??= []).push(tid);
    }
  }
  const body = {
    schema_version: SCHEMA_VERSION,
    workstream_id: wsId,
    seq,
    checkpoint_at: at,
    previous: chain.previous,
    oldest_kept: chain.oldest_kept,
    tasks,
    completed_tasks: completed,
    failed_tasks: failed,
    pending_tasks: pending,
    resources_held: held,
  };
  return { ...body, hash: checkpointHash(body) };
}

/**
 * 'sha256:' and the hex sha-256 of a text's UTF-8 bytes. Encoded with Buffer.from first: Node's
 * hash.update(string) is four times slower on large strings (measured on an 11 MB current.json).
 */
function sha256Text(text: string): string {
  return 'sha256:' + createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');
}

/** sha-256 of the canonical compact JSON of a checkpoint, snapshot or archive file without its hash field. */
export function checkpointHash(doc: Omit<CheckpointDoc, 'hash'> | Record<string, unknown>): string {
  const { hash: _ignored, ...rest } = doc as Record<string, unknown>;
  return sha256Text(compactJson(rest));
}

/**
 * Whether a parsed derived file's `hash` matches its content. A file cairn wrote has its keys in
 * canonical order already, and JSON.parse keeps that order, so its plain stringification is the
 * canonical form: hashing that avoids rebuilding the whole document (11 MB for 10,000 tasks) in
 * sorted form. When it differs (keys reordered by hand), the canonical form decides.
 */
export function hashMatches(doc: Record<string, unknown>): boolean {
  const { hash, ...rest } = doc;
  if (typeof hash !== 'string') return false;
  if (sha256Text(JSON.stringify(rest)) === hash) return true;
  return checkpointHash(doc) === hash;
}

/**
 * Whether a parsed snapshot's hash holds: over the bytes it was parsed from (version 2), or over its
 * canonical content (version 1, and the whole-state snapshots of snapshots.ts).
 */
export function snapshotHashMatches(v: Record<string, unknown>): boolean {
  if (v.schema_version !== SNAPSHOT_FILE_VERSION) return hashMatches(v);
  const src = sourceOf.get(v);
  if (src === undefined) return false;
  return fileHashMatches(typeof src === 'string' ? Buffer.from(src, 'utf8') : src, v.hash);
}

export function checkCheckpoint(v: Record<string, unknown>, what: string): CheckpointDoc {
  if (typeof v.workstream_id !== 'string' || !Number.isSafeInteger(v.seq) || !isObj(v.tasks) || typeof v.hash !== 'string') {
    bad(what, 'not a checkpoint');
  }
  if (!hashMatches(v)) bad(what, 'its hash does not match its content');
  for (const [id, t] of Object.entries(v.tasks as object)) {
    if (!isObj(t) || !(TASK_STATES as readonly unknown[]).includes(t.state) || !Number.isSafeInteger(t.retry_count)) {
      bad(what, `task ${id} is malformed`);
    }
  }
  return v as unknown as CheckpointDoc;
}
