import * as path from 'node:path';
import { parseCrcHex } from '../log/codec.js';
import type { State } from '../model/state.js';
import type { Task } from '../model/types.js';
import type { CarrySource } from '../recovery/carry-forward.js';
import { readWhole, type FsLayer } from './fsio.js';
import type { StatePaths } from './paths.js';
import type { LogInspection } from './repair.js';
import { checkArchive, checkCheckpoint, checkSnapshot, parseDoc } from './snapshot.js';

/**
 * The derived files repair_state may carry acknowledged state forward from (DESIGN §9): only when
 * the repaired log lost records (or files are newer than its end: a tail cut at a record boundary),
 * only files whose sha-256 hash holds, only files newer than both the intact part of the log and
 * the repaired log's end, and never a current.json whose crc
 * disagrees with the crc the damaged log states at its seq (it belongs to another history).
 * Read before the derived files are rebuilt, so what they held is not gone by then.
 */
export function carrySources(io: FsLayer, paths: StatePaths, insp: LogInspection): { sources: CarrySource[]; unrecoverable: string[] } {
  // A merged log's other branch is set aside on purpose, not lost: its derived files are not carried in.
  if (insp.merge) return { sources: [], unrecoverable: [] };
  const end = insp.salvage ? insp.salvage.seq : insp.goodSeq;
  // A log cut at a record boundary looks whole: files written after its end are what shows it lost
  // its tail. A damaged log may have lost records anywhere after its intact part.
  const damaged = lostRecords(insp);
  const newer = (seq: number): boolean => seq > insp.goodSeq && seq >= end && (damaged || seq > end);
  const best = new Map<string, CarrySource>();
  const unrecoverable: string[] = [];
  const offer = (s: CarrySource): void => {
    const had = best.get(s.workstream.id);
    if (!had || s.seq > had.seq) best.set(s.workstream.id, s);
  };
  const cur = readJson(io, paths.current, 'current.json', checkSnapshot);
  const referenced = new Set<string>();
  if (cur && newer(cur.seq) && (!insp.statedAt.has(cur.seq) || insp.statedAt.get(cur.seq) === parseCrcHex(cur.crc))) {
    const resources = Object.fromEntries(Object.values(cur.resources).map((r) => [r.id, r.max_holders]));
    for (const ws of Object.values(cur.workstreams)) offer({ file: 'current.json', seq: cur.seq, workstream: ws, resources });
    for (const [id, seq] of Object.entries(cur.archived)) {
      const a = readArchive(io, paths, id);
      if (a && a.seq === seq) offer({ file: `archive/${id}.json`, seq, workstream: a.workstream, resources });
      referenced.add(id);
    }
  }
  for (const f of listJson(io, paths.archive)) {
    const id = f.slice(0, -'.json'.length);
    if (referenced.has(id)) continue;
    const a = readArchive(io, paths, id);
    if (a && a.workstream.id === id && newer(a.seq)) offer({ file: `archive/${f}`, seq: a.seq, workstream: a.workstream, resources: {} });
  }
  for (const f of listJson(io, paths.checkpoints)) {
    if (!f.endsWith('_latest.json')) continue;
    const id = f.slice(0, -'_latest.json'.length);
    let ck;
    try {
      ck = readJson(io, path.join(paths.checkpoints, f), `checkpoints/${f}`, checkCheckpoint);
    } catch {
      continue;
    }
    if (!ck || ck.workstream_id !== id || !newer(ck.seq) || best.has(id)) continue;
    const doc = fromCheckpoint(insp.state, id, ck.tasks);
    if (doc) offer({ file: `checkpoints/${f}`, seq: ck.seq, workstream: doc, resources: {} });
    else if (!insp.state.workstreams.has(id)) {
      // Never silent: the workstream was acknowledged, but a checkpoint does not hold its definition.
      unrecoverable.push(`workstream ${id} was submitted (checkpoints/${f} holds it at seq ${ck.seq}), but neither the repaired log nor a current.json or archive file holds its definition: submit its spec again (its task states were ${Object.entries(ck.tasks).map(([t, v]) => `${t} ${v.state}`).join(', ')})`);
    }
  }
  return { sources: [...best.values()].sort((a, b) => (a.workstream.id < b.workstream.id ? -1 : 1)), unrecoverable };
}

/** Whether the repair drops or replaces any record the log held. */
export function lostRecords(insp: LogInspection): boolean {
  if (!insp.damage) return false;
  const s = insp.salvage;
  if (!s) return true;
  return s.cut !== null || s.lines.some((l) => l.kind === 'lost');
}

/** A workstream of the state with the task states and retry counts a checkpoint gives. */
function fromCheckpoint(state: State, id: string, tasks: Record<string, { state: string; retry_count: number }>): CarrySource['workstream'] | null {
  const ws = state.workstreams.get(id);
  if (!ws) return null;
  const out: Record<string, Task> = {};
  for (const tid of ws.task_ids) {
    const t = state.tasks.get(`${id}/${tid}`)!;
    const c = tasks[tid];
    if (!c) return null;
    out[tid] = { ...t, state: c.state as Task['state'], retry_count: c.retry_count };
  }
  return { ...ws, tasks: out };
}

function readArchive(io: FsLayer, paths: StatePaths, id: string) {
  try {
    return readJson(io, paths.archived(id), `archive/${id}.json`, checkArchive);
  } catch {
    return null;
  }
}

function readJson<T>(io: FsLayer, file: string, what: string, check: (v: Record<string, unknown>, what: string) => T): T | null {
  try {
    const buf = readWhole(io, file);
    if (!buf) return null;
    return check(parseDoc(buf.toString('utf8'), what), what);
  } catch {
    return null; // damaged or edited: never a source
  }
}

function listJson(io: FsLayer, dir: string): string[] {
  const st = io.lstatSync(dir);
  if (!st || !st.isDirectory() || st.isSymbolicLink()) return [];
  return io.readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('.')).sort();
}
