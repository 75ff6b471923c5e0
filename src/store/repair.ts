import * as path from 'node:path';
import { CairnError } from '../errors.js';
import { crcHex, lineSeq, statedCrc } from '../log/codec.js';
import { State } from '../model/state.js';
import type { LogRecord } from '../model/types.js';
import { atomicWrite, prepareAtomic } from './atomic.js';
import { sameBytesAtEnd } from './replace.js';
import type { StoreConfig } from './config.js';
import { DerivedWriter, interventionLines } from './derived.js';
import { FLAGS, type FsLayer, readWhole, unsafe } from './fsio.js';
import { applyLine, applyRecord, decodeLine, listBackups } from './load.js';
import { CheckpointTracker, writeImpliedCheckpoints } from './checkpoint-points.js';
import { acquire, clearStaleLock, isLocked, lockPresent } from './lock.js';
import { scanLog } from './logfile.js';
import { logStart } from './log-base.js';
import { carriedInterventions, startState } from './log-base-state.js';
import { inspectMerge } from './repair-merge.js';
import { salvageTail, type TailSalvage } from './salvage-log.js';
import { passThenLock, stateLockOptions } from './long-pass.js';
import { type StatePaths, stampOf } from './paths.js';
import { removeStaleTemps } from './runtime-files.js';
import { dropSegments, listSegments } from './segments.js';
import { isArchived, parseDoc } from './snapshot.js';

/**
 * The file side of repair_state: find where the log stops being good, set the rest aside, clear
 * stale locks, rebuild every derived file from the log. The state side (requeueing orphaned tasks)
 * is src/recovery/repair-state.ts, committed through the store like any decision.
 */

/** Why the log stops being good at `offset`. */
export interface LogDamage {
  /**
   * torn: nothing valid follows; corrupt: valid records follow a bad one; invalid: a well-formed
   * record the state machine refuses; merge: git merged two branches of the log line by line.
   */
  kind: 'torn' | 'incomplete' | 'corrupt' | 'invalid' | 'merge';
  seq: number;
  offset: number;
  reason: string;
}

/** One line of the part of the log that would be set aside, as far as it can be read. */
export interface AsideLine {
  seq: number | null;
  type: string | null;
  ids: string | null;
  intact: boolean;
}

export interface LogInspection {
  size: number;
  /** End of the good part: every record before it replays. */
  goodOffset: number;
  goodSeq: number;
  records: number;
  damage: LogDamage | null;
  aside: { bytes: number; lines: AsideLine[] } | null;
  /** The state the good part replays to. */
  state: State;
  /** Records of manual actions (operator and action set), for interventions.log. */
  manual: LogRecord[];
  /** crc of the log at the seqs asked for (to check snapshots, backups and checkpoints against it). */
  crcAt: Map<number, string>;
  /** What was saved of the damaged stretch after the good part (null when the log is whole or a record there does not apply). */
  salvage: TailSalvage | null;
  /** The crc each line of the damaged stretch states, by seq (to tell whether a derived file belongs to this history). */
  statedAt: Map<number, number>;
  /** The file name (in the state folder) the damaged stretch is set aside in. */
  asideName: string | null;
  /** A log git merged line by line: the other branch's records (set aside byte for byte, alone) and ours (kept). */
  merge: { commonSeq: number; theirs: Buffer; theirsRecords: AsideRecord[]; oursRecords: AsideRecord[] } | null;
}

/** A record of a merged log's branch, as far as it can be read. */
export interface AsideRecord { seq: number; type: string; ids: string; id: string }

/** Who repairs, and when: the placeholders of lost records carry them. */
export interface InspectOptions {
  operator: string | null;
  nowMs: number;
}

/**
 * Replays the log from seq 1 and finds where it stops being good: a torn tail, mid-log corruption,
 * or the first record the transition tables refuse. Changes nothing.
 */
export function inspectLog(io: FsLayer, paths: StatePaths, o: InspectOptions, wantCrc: ReadonlySet<number> = new Set()): LogInspection {
  // Old segments moved out: replay from the base. MUST: repair keeps the base and every record after it.
  const begin = logStart(io, paths.log);
  const state = startState(io, paths.log, begin);
  const manual: LogRecord[] = [];
  const crcAt = new Map<number, string>();
  let invalid: LogDamage | null = null;
  let records = 0;
  let lastTs: string | null = null;
  const scan = scanLog(io, paths.log, begin.pos, (buf, start, end, seq, crc, offset) => {
    if (invalid) return;
    try {
      const r = applyLine(state, buf, start, end, seq);
      lastTs = r.ts;
      if (r.operator !== null && typeof r.action === 'string') manual.push(r);
    } catch (e) {
      invalid = { kind: 'invalid', seq, offset, reason: (e as Error).message };
      return;
    }
    if (wantCrc.has(seq)) crcAt.set(seq, crcHex(crc));
    records++;
  });
  const p = scan.problem;
  if (p?.kind === 'corrupt' && p.merge && !invalid) {
    const merged = mergedInspection(io, paths, o, scan.size, p, crcAt, wantCrc);
    if (merged) return merged;
  }
  const bad = invalid as LogDamage | null;
  const damage: LogDamage | null = bad ?? (p ? { kind: p.kind, seq: p.seq, offset: p.offset, reason: p.reason } : null);
  const goodOffset = bad ? bad.offset : scan.end.offset;
  const goodSeq = bad ? bad.seq - 1 : scan.end.seq;
  const asideName = damage ? path.basename(damage.kind === 'torn' || damage.kind === 'incomplete' ? paths.tornLog(stampOf(o.nowMs)) : paths.corruptLog(stampOf(o.nowMs))) : null;
  let salvaged: TailSalvage | null = null;
  const statedAt = new Map<number, number>();
  if (damage) {
    const all = readWhole(io, paths.log) ?? Buffer.alloc(0);
    const rest = all.subarray(goodOffset, scan.size);
    // The last good record's line: a second copy of it is a duplicate, not damage.
    const line = goodOffset > 0 ? all.subarray(all.lastIndexOf(10, goodOffset - 2) + 1, goodOffset - 1) : undefined;
    for (const [seq, crc] of statedCrcs(rest)) statedAt.set(seq, crc);
    // A record that verifies but does not apply is where repair stops (nothing after it is judged
    // on a state that lacks it); damaged bytes are salvaged record by record.
    if (!bad) {
      salvaged = salvageTail(state, rest, { seq: scan.end.seq, crc: scan.end.crc, ts: lastTs, line }, { operator: o.operator, setAsideFile: asideName!, nowMs: o.nowMs });
      for (const l of salvaged.lines) if (l.kind !== 'set_aside' && wantCrc.has(l.seq)) crcAt.set(l.seq, crcHex(salvaged.crcs.get(l.seq) ?? -1));
    }
  }
  return { size: scan.size, goodOffset, goodSeq, records, damage, aside: damage ? describeAside(io, paths, goodOffset) : null, state, manual, crcAt, salvage: salvaged, statedAt, asideName, merge: null };
}

/** inspectLog of a log git merged line by line: the shared part and our branch are kept, theirs set aside. */
function mergedInspection(io: FsLayer, paths: StatePaths, o: InspectOptions, size: number, p: { seq: number; offset: number; reason: string }, crcAt: Map<number, string>, wantCrc: ReadonlySet<number>): LogInspection | null {
  const all = readWhole(io, paths.log) ?? Buffer.alloc(0);
  if (all.length !== size) return null;
  const m = inspectMerge(all);
  if (!m) return null;
  for (const seq of crcAt.keys()) if (seq > m.commonSeq) crcAt.delete(seq);
  for (const [seq, crc] of m.salvage.crcs) if (wantCrc.has(seq)) crcAt.set(seq, crcHex(crc));
  const asideName = path.basename(paths.theirsLog(stampOf(o.nowMs)));
  return {
    size, goodOffset: m.goodOffset, goodSeq: m.commonSeq, records: m.commonSeq + m.salvage.kept,
    damage: { kind: 'merge', seq: p.seq, offset: p.offset, reason: p.reason },
    aside: { bytes: m.theirs.length, lines: m.theirsRecords.map((r) => ({ seq: r.seq, type: r.type, ids: r.ids || null, intact: true })) },
    state: m.state, manual: m.manual, crcAt, salvage: m.salvage, statedAt: new Map(), asideName,
    merge: { commonSeq: m.commonSeq, theirs: m.theirs, theirsRecords: m.theirsRecords, oursRecords: m.oursRecords },
  };
}

/** seq -> the crc each line of `buf` states (lines that have both). */
function statedCrcs(buf: Buffer): Map<number, number> {
  const out = new Map<number, number>();
  for (let p = 0; p < buf.length;) {
    let nl = buf.indexOf(10, p);
    if (nl < 0) nl = buf.length;
    const seq = lineSeq(buf, p, nl);
    const crc = statedCrc(buf, p, nl);
    if (seq > 0 && crc >= 0 && !out.has(seq)) out.set(seq, crc);
    p = nl + 1;
  }
  return out;
}

function describeAside(io: FsLayer, paths: StatePaths, offset: number): { bytes: number; lines: AsideLine[] } {
  const all = readWhole(io, paths.log) ?? Buffer.alloc(0);
  const rest = all.subarray(offset).toString('utf8');
  const lines = rest.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return {
    bytes: all.length - offset,
    lines: lines.map((l) => {
      try {
        const r = JSON.parse(l) as Record<string, unknown>;
        const ids = [r.workstream_id && r.task_id ? `${String(r.workstream_id)}/${String(r.task_id)}` : r.workstream_id ?? r.worker_id ?? r.resource_id].filter(Boolean).join(',');
        return { seq: typeof r.seq === 'number' ? r.seq : null, type: typeof r.type === 'string' ? r.type : null, ids: ids || null, intact: true };
      } catch {
        return { seq: null, type: null, ids: null, intact: false };
      }
    }),
  };
}

/** A state or scheduler lock: whether its owner file is there, and whether a live holder keeps it fresh. */
export interface LockState {
  name: 'state.lock' | 'scheduler.lock';
  target: string;
  present: boolean;
  stale: boolean;
}

export async function lockStates(_io: FsLayer, paths: StatePaths, cfg: StoreConfig): Promise<LockState[]> {
  const out: LockState[] = [];
  for (const [name, target] of [['state.lock', paths.stateLockTarget], ['scheduler.lock', paths.schedulerLockTarget]] as const) {
    const present = lockPresent(target);
    out.push({ name, target, present, stale: present && !(await isLocked(target, cfg.lock_stale_ms)) });
  }
  return out;
}

/**
 * Removes a lock no live process keeps fresh (its holder died), through the lock's exclusive
 * takeover, so a lock taken meanwhile by a live process is never removed. `deadPid`: the lock of
 * a scheduler known to be dead is cleared without waiting for the stale time. True when cleared.
 */
export function clearLock(lock: LockState, cfg: StoreConfig, deadPid?: number): boolean {
  return clearStaleLock(lock.target, cfg.lock_stale_ms, deadPid);
}

async function underLock<T>(paths: StatePaths, cfg: StoreConfig, fn: () => T): Promise<T> {
  const lock = await acquire(paths.stateLockTarget, stateLockOptions(cfg));
  try {
    lock.assertHeld(); // a holder that lost the lock writes nothing
    const r = fn();
    lock.assertHeld();
    return r;
  } finally {
    await lock.release();
  }
}

/**
 * Keeps the log's good part and moves the rest to a file beside it (`transitions.jsonl.torn-<ts>`
 * for a torn tail, `transitions.jsonl.corrupt-<ts>` otherwise). MUST: the set-aside file is durable
 * before the log is cut, and the log is cut only if it still is what was inspected (same size).
 */
export async function setAsideLogTail(io: FsLayer, paths: StatePaths, cfg: StoreConfig, seen: LogInspection): Promise<string> {
  const damage = seen.damage;
  const asideName = seen.asideName;
  if (!damage || !asideName) throw new CairnError('INTERNAL', 'nothing to set aside');
  // The copies are written before the state lock is taken (their length grows with the log, see
  // long-pass.ts); under it, only the check that the log is still what was inspected, and the rename.
  const ino = io.lstatSync(paths.log)?.ino ?? 0;
  const all = readWhole(io, paths.log) ?? Buffer.alloc(0);
  const changed = (): CairnError => new CairnError('STATE_LOCKED', 'the log changed while repair-state was looking at it', { hint: 'Run cairn repair-state again.' });
  if (all.length !== seen.size) throw changed();
  const aside = path.join(paths.root, asideName);
  // MUST: the damaged stretch is durable beside the log before the log is cut or replaced, and a
  // replaced log is replaced whole (temp file, fsync, rename, folder fsync): a crash leaves the old or the new.
  atomicWrite(io, aside, seen.merge ? seen.merge.theirs : all.subarray(seen.goodOffset));
  const tail = seen.salvage?.tail;
  // A rotated log is rewritten whole into transitions.jsonl (its good part may end inside a segment).
  const segmented = listSegments(io, paths.segments).length > 0;
  // With a base, the rewritten transitions.jsonl starts where the base ends (the base stays).
  const from = logStart(io, paths.log).pos.offset;
  const next = (tail && tail.length > 0) || segmented ? prepareAtomic(io, paths.log, Buffer.concat([all.subarray(from, seen.goodOffset), tail ?? Buffer.alloc(0)])) : null;
  try {
    await underLock(paths, cfg, () => {
      if (!sameBytesAtEnd(io, paths.log, ino, all)) throw changed();
      if (next) {
        next.commit();
        if (segmented) dropSegments(io, paths.segments);
        return;
      }
      const fd = io.openSync(paths.log, FLAGS.readWrite);
      try {
        io.ftruncateSync(fd, seen.goodOffset);
        io.fsyncSync(fd);
      } finally {
        io.closeSync(fd);
      }
    });
  } catch (e) {
    next?.abort();
    throw e;
  }
  return aside;
}

function unlinkIfThere(io: FsLayer, file: string): boolean {
  try {
    io.unlinkSync(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Rebuilds every derived file from the log, under the state lock: current.json, metrics.json, the
 * archive, every checkpoint (a checkpoint file at a seq the log has is rewritten from a replay up to
 * that seq; one past the log's end or naming a missing workstream is removed), interventions.log,
 * and removes backups that belong to another history and temp files of dead writers. Returns one
 * line per kind of file it wrote or removed. The replay runs before the lock is taken (long-pass.ts);
 * the checkpoint files it finds the content of are written under the lock with the rest.
 */
export async function rebuildDerived(io: FsLayer, paths: StatePaths, cfg: StoreConfig, nowMs: number): Promise<string[]> {
  // MUST: the folders whose files are removed below are real folders of ours: through a symlink,
  // unlinking archive/*.json would delete files outside the state folder.
  for (const dir of [paths.checkpoints, paths.archive, paths.backups]) {
    const st = io.lstatSync(dir);
    if (st && (st.isSymbolicLink() || !st.isDirectory())) throw unsafe(dir);
  }
  const backups = listBackups(io, paths);
  const want = new Set<number>(backups.map((b) => b.seq));
  return passThenLock(io, paths, cfg, () => {
    const state = startState(io, paths.log, logStart(io, paths.log));
    const manual: LogRecord[] = [];
    const crcAt = new Map<number, string>([[0, '00000000']]);
    const tracker = new CheckpointTracker(cfg.checkpoints_keep);
    return {
      visit: (buf, start, end, seq, crc) => {
        const r = decodeLine(buf, start, end, seq);
        tracker.before(state, r);
        applyRecord(state, r, seq);
        tracker.after(state);
        if (r.operator !== null && typeof r.action === 'string') manual.push(r);
        if (want.has(seq)) crcAt.set(seq, crcHex(crc));
      },
      result: () => ({ state, manual, crcAt, docs: tracker.docs(state) }),
    };
  }, ({ state, manual, crcAt, docs }, scan, lock) => {
    if (scan.problem) throw new CairnError('LOG_CORRUPT', `the log is still damaged at seq ${scan.problem.seq}`, { hint: 'Run cairn repair-state again.' });
    lock.assertHeld();
    // Every checkpoint the log implies is written; every other checkpoint file goes.
    const ck = writeImpliedCheckpoints(io, paths, docs);
    for (const f of io.lstatSync(paths.archive) ? io.readdirSync(paths.archive) : []) {
      if (f.endsWith('.json') && !f.startsWith('.')) unlinkIfThere(io, path.join(paths.archive, f));
    }
    const archives = [...state.workstreams.values()].filter(isArchived).length;
    let foreign = 0;
    for (const b of backups) {
      let crc: unknown = null;
      try {
        crc = parseDoc(readWhole(io, path.join(paths.backups, b.file))?.toString('utf8') ?? '', b.file).crc;
      } catch {
        /* unreadable: removed below */
      }
      if (crcAt.get(b.seq) !== crc) {
        unlinkIfThere(io, path.join(paths.backups, b.file));
        foreign++;
      }
    }
    unlinkIfThere(io, paths.current);
    new DerivedWriter(io, paths, cfg).write(state, scan.end.offset, nowMs, new Map(), false);
    // Old segments moved out: the lines of the manual records before the base come from the base.
    atomicWrite(io, paths.interventions, carriedInterventions(io, paths.log, logStart(io, paths.log).base) + interventionLines(manual).join(''));
    const temps = removeStaleTemps(io, paths);
    return [
      `rebuilt current.json, metrics.json, interventions.log (${manual.length} manual records) and the archive (${archives} finished workstream(s)) from the log (${scan.records} records, seq ${state.seq})`,
      `wrote every checkpoint the log implies (${ck.written} file(s): the last ${cfg.checkpoints_keep} decisions that moved each workstream's tasks)${ck.removed > 0 ? ` and removed ${ck.removed} checkpoint file(s) it does not imply` : ''}`,
      ...(foreign > 0 ? [`removed ${foreign} backup(s) that do not match the log`] : []),
      ...(temps.length > 0 ? [`removed ${temps.length} temp file(s) of dead writers`] : []),
    ];
  });
}
