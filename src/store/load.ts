import { CairnError } from '../errors.js';
import { crcHex, formIsPlain, parseCrcHex, parseReplayLine } from '../log/codec.js';
import { MAX_DEPTH, shapeProblem } from '../log/shape.js';
import { apply, applyReplayed, type ReplayedRecord } from '../model/apply.js';
import { State } from '../model/state.js';
import type { LogRecord } from '../model/types.js';
import { FLAGS, type FsLayer, readWhole, unsafe } from './fsio.js';
import { collectGarbage, REPLAY_GC_BYTES } from './gc.js';
import { type LogPosition, type LogProblem, scanLog } from './logfile.js';
import { logStart } from './log-base.js';
import { readBaseDoc } from './log-base-state.js';
import { BACKUP_NAME, type StatePaths } from './paths.js';
import { type ArchiveDoc, addWorkstream, checkArchive, checkSnapshot, parseDoc, stateFromSnapshot, type SnapshotDoc } from './snapshot.js';
import { trustedStart } from './verified-memo.js';

/** The result of loading: the state, where the log's good part ends, and what was wrong on the way. */
export interface Loaded {
  state: State;
  end: LogPosition;
  size: number;
  /** Inode of the log that was read (0 when there is none yet). */
  logIno: number;
  /** Logical offset where the active file starts: 0, or the length of the segments before it (segmented-fs.ts). */
  logBase: number;
  problem: LogProblem | null;
  /** Human-readable notes about files that were ignored (never trusted) on the way. */
  warnings: string[];
  /** What the state was built from: `current.json`, a backup file name, or `log` (full replay). */
  source: string;
  archivedAt: Map<string, number>;
  /** seq of the snapshot the state was built on (0 for a full replay). */
  baseSeq: number;
  /** crc of the record before the one `end` is after (0 when there is none): what log-verified.json records. */
  prevCrc: number;
}

export interface LoadOptions {
  skipCurrent?: boolean;
  only?: string;
  /**
   * Check only the part of the log after what an earlier command verified (log-verified.json, see
   * verified-memo.ts). For read-only commands; writers and validate-state check the whole chain.
   */
  trustVerified?: boolean;
}

interface Candidate {
  name: string;
  path: string;
}

/**
 * Loads the state: the newest valid snapshot plus a replay of the log after its seq (DESIGN §4).
 * Every record of the log is checked (crc chain and seq) even when a snapshot covers it, except, with
 * `trustVerified`, the prefix an earlier command verified (verified-memo.ts). A snapshot
 * that is empty, garbled, schema-invalid, too new, or from another log (its crc differs from the
 * log's at its seq) is reported in `warnings` and ignored; the next candidate is tried, down to a
 * full replay of the log.
 */
export function loadState(io: FsLayer, paths: StatePaths, opts: LoadOptions = {}): Loaded {
  const warnings: string[] = [];
  for (const c of candidatesOf(io, paths, opts)) {
    let doc: SnapshotDoc;
    let archives: ArchiveDoc[];
    try {
      const buf = readWhole(io, c.path);
      if (buf === undefined) {
        if (c.name !== 'current.json') warnings.push(`${c.name} does not exist`);
        else warnings.push('current.json is missing; rebuilding from the log');
        continue;
      }
      doc = checkSnapshot(parseDoc(buf, c.name), c.name, { forLoading: true });
      archives = loadArchives(io, paths, doc, c.name);
    } catch (e) {
      if (e instanceof CairnError && (e.code === 'SNAPSHOT_INVALID' || e.code === 'UNSAFE_PATH')) {
        warnings.push(`${e.message}; ignored`);
        continue;
      }
      throw e;
    }
    const got = replayFrom(io, paths, doc, archives, opts.trustVerified === true);
    if (typeof got === 'string') {
      warnings.push(`${c.name}: ${got}; ignored`);
      continue;
    }
    return { ...got, warnings, source: c.name };
  }
  const got = replayFrom(io, paths, null, [], opts.trustVerified === true);
  if (typeof got === 'string') throw new CairnError('INTERNAL', got);
  return { ...got, warnings, source: 'log' };
}

/** The snapshots to try, best first; the backups folder is listed only once current.json failed. */
function* candidatesOf(io: FsLayer, paths: StatePaths, opts: LoadOptions): Generator<Candidate> {
  if (opts.only !== undefined) {
    yield { name: opts.only, path: opts.only };
    return;
  }
  if (!opts.skipCurrent) yield { name: 'current.json', path: paths.current };
  for (const b of listBackups(io, paths)) yield { name: `backups/${b.file}`, path: `${paths.backups}/${b.file}` };
}

/**
 * The archive files a snapshot refers to, each checked by its hash (checkArchive). Any that is
 * missing, damaged, without a hash, or at another seq makes the snapshot unusable (SNAPSHOT_INVALID):
 * the caller ignores it and tries the next candidate, down to the log.
 */
function loadArchives(io: FsLayer, paths: StatePaths, doc: SnapshotDoc, name: string): ArchiveDoc[] {
  const out: ArchiveDoc[] = [];
  const ids = Object.keys(doc.archived);
  if (ids.length === 0) return out;
  const dir = io.lstatSync(paths.archive);
  if (dir && (dir.isSymbolicLink() || !dir.isDirectory())) throw unsafe(paths.archive);
  for (const id of ids) {
    const buf = readWhole(io, paths.archived(id));
    if (buf === undefined) throw new CairnError('SNAPSHOT_INVALID', `${name} refers to archive/${id}.json, which is missing`);
    const a = checkArchive(parseDoc(buf.toString('utf8'), `archive/${id}.json`), `archive/${id}.json`);
    if (a.workstream.id !== id || !archiveFits(a, doc.archived[id]!, doc.seq)) {
      throw new CairnError('SNAPSHOT_INVALID', `archive/${id}.json is at seq ${String(a.seq)} and last changed at seq ${lastChange(a)}; ${name} (seq ${doc.seq}) expects it as written at seq ${doc.archived[id]}`);
    }
    out.push(a);
  }
  return out;
}

/**
 * Whether an archive file holds the workstream as a snapshot at `snapSeq` knew it. Exactly the file
 * it names (written at `writtenAt`), or one rewritten later (restore-state and repair-state rewrite
 * every archive file at their own seq) whose workstream did not change between the snapshot and
 * that rewrite: its last change is at or before the snapshot and the file is at or after it.
 * Without this, every backup older than a restore was refused and `--from-backup latest` fell back
 * to the oldest backup of all.
 */
function archiveFits(a: ArchiveDoc, writtenAt: number, snapSeq: number): boolean {
  if (a.seq === writtenAt) return true;
  return lastChange(a) <= snapSeq && snapSeq <= a.seq;
}

/** The seq of the last record that changed the archived workstream or one of its tasks. */
function lastChange(a: ArchiveDoc): number {
  let last = a.workstream.updated_seq;
  for (const t of Object.values(a.workstream.tasks)) last = Math.max(last, t.updated_seq);
  return last;
}

/** Why the archive files a snapshot refers to make it unusable (as loadState judges them), or null. */
export function archivesProblem(io: FsLayer, paths: StatePaths, doc: SnapshotDoc, name: string): string | null {
  try {
    loadArchives(io, paths, doc, name);
    return null;
  } catch (e) {
    if (e instanceof CairnError && (e.code === 'SNAPSHOT_INVALID' || e.code === 'UNSAFE_PATH')) return e.message;
    throw e;
  }
}

/** Archive files a snapshot refers to, skipping the unusable ones (for a dry-run comparison only). */
export function loadArchivesLenient(io: FsLayer, paths: StatePaths, doc: SnapshotDoc): ArchiveDoc[] {
  try {
    return loadArchives(io, paths, doc, 'current.json');
  } catch {
    return [];
  }
}

/** Replays the log on top of `doc` (or from nothing); a string explains why `doc` cannot be used. */
function replayFrom(io: FsLayer, paths: StatePaths, given: SnapshotDoc | null, archives: ArchiveDoc[], trust: boolean): Omit<Loaded, 'warnings' | 'source'> | string {
  // Old segments moved out: the replay starts at the base, from its state when `given` is older.
  const head = logStart(io, paths.log);
  if (head.base && given && given.seq === head.pos.seq && given.crc !== head.base.crc) return `its crc ${given.crc} differs from the log's ${head.base.crc} at seq ${head.pos.seq} (it belongs to another history)`;
  const doc = head.base && (!given || given.seq < head.pos.seq) ? readBaseDoc(io, paths.segments, head.base) : given;
  // Each candidate is parsed afresh and only its seq, crc and archived map are read after this.
  const state = doc ? stateFromSnapshot(doc, true) : new State();
  for (const a of archives) {
    if (doc && doc.workstreams[a.workstream.id]) continue;
    addWorkstream(state, a.workstream, true);
  }
  const base = doc?.seq ?? 0;
  const wantCrc = doc ? parseCrcHex(doc.crc) : 0;
  let mismatch: string | null = null;
  let sinceGc = 0;
  // The verified prefix is skipped only up to the snapshot: records after it are replayed anyway.
  // A rotated log (and so one with a base) keeps no memo: its offsets are not the active file's.
  const memo = trust && !head.base ? trustedStart(io, paths) : null;
  const from = memo && memo.seq <= base ? memo : head.pos;
  if (doc && from.seq === base && from.seq > 0 && from.crc !== wantCrc) return `its crc ${doc.crc} differs from the log's ${crcHex(from.crc)} at seq ${base} (it belongs to another history)`;
  let prevCrc = from === memo && memo ? memo.prevCrc : 0;
  let lastCrc = from.crc;
  const scan = scanLog(io, paths.log, from, (buf, start, end, seq, crc, _offset, form) => {
    prevCrc = lastCrc;
    lastCrc = crc;
    if (mismatch) return;
    if (seq < base) return;
    if (seq === base) {
      if (crc !== wantCrc) mismatch = `its crc ${doc!.crc} differs from the log's ${crcHex(crc)} at seq ${seq} (it belongs to another history)`;
      return;
    }
    replayLine(state, buf, start, end, seq, crc, form);
    // A long replay: keep peak memory at the size of the state, not of the log (see gc.ts).
    sinceGc += end - start;
    if (sinceGc >= REPLAY_GC_BYTES) {
      sinceGc = 0;
      collectGarbage();
    }
  });
  if (mismatch) return mismatch;
  if (scan.end.seq < base) return `it is at seq ${base} but the log ends at seq ${scan.end.seq} (too new)`;
  return { state, end: scan.end, size: scan.size, logIno: scan.ino ?? 0, logBase: scan.base ?? 0, problem: scan.problem, archivedAt: new Map(Object.entries(doc?.archived ?? {})), baseSeq: doc?.seq ?? 0, prevCrc };
}

/**
 * Parses one good line and applies it. A line that passed its crc but is not a record cairn can
 * apply (crafted, or written by a buggy version) is damage: LOG_CORRUPT or LOG_INVALID with its seq.
 */
export function applyLine(state: State, buf: Buffer, start: number, end: number, seq: number): LogRecord {
  const rec = parseWhole(buf, start, end, seq);
  checkRecord(rec, seq, true);
  try {
    apply(state, rec);
  } catch (e) {
    throw notApplicable(rec, seq, e);
  }
  return rec;
}

/**
 * applyLine for a replay that needs the state only: the record is parsed without its id and crc
 * (parseReplayLine; a quarter less JSON.parse), checked the same way, and applied by the same
 * handlers. A line of another form is parsed whole, as by applyLine.
 */
export function replayLine(state: State, buf: Buffer, start: number, end: number, seq: number, crc: number, form?: number): void {
  let rec: Record<string, unknown> | null;
  try {
    rec = parseReplayLine(buf, start, end, seq, form);
  } catch {
    rec = null; // not JSON: parseWhole says so with the whole line's own message
  }
  if (rec === null) {
    applyLine(state, buf, start, end, seq);
    return;
  }
  // A plain line (no backslash, no __proto__, few brackets) cannot fail the shape check.
  checkRecord(rec, seq, false, form !== undefined && formIsPlain(form));
  try {
    applyReplayed(state, rec as ReplayedRecord, crc);
  } catch (e) {
    throw notApplicable(rec, seq, e);
  }
}

/** applyLine's second half: applies a decoded record, a refusal named LOG_INVALID with its seq. */
export function applyRecord(state: State, rec: LogRecord, seq: number): void {
  try {
    apply(state, rec);
  } catch (e) {
    throw notApplicable(rec, seq, e);
  }
}

/** A good line parsed and checked as replay checks it, without applying it (repair applies it to a trial draft). */
export function decodeLine(buf: Buffer, start: number, end: number, seq: number): LogRecord {
  const rec = parseWhole(buf, start, end, seq);
  checkRecord(rec, seq, true);
  return rec;
}

function parseWhole(buf: Buffer, start: number, end: number, seq: number): LogRecord {
  try {
    // V8's JSON.parse is iterative: a crafted line nested 200,000 deep parses without a stack overflow
    // and is refused by checkRecord, before anything recursive sees it.
    return JSON.parse(buf.toString('utf8', start, end)) as LogRecord;
  } catch (e) {
    throw new CairnError('LOG_CORRUPT', `record seq ${seq} is not valid JSON (${(e as Error).message})`, { details: { seq }, hint: REPAIR_HINT });
  }
}

function notApplicable(rec: Record<string, unknown>, seq: number, e: unknown): CairnError {
  if (e instanceof CairnError) return e;
  return new CairnError('LOG_INVALID', `record seq ${seq} (${String(rec.type)}) cannot be applied: ${(e as Error).message}`, { details: { seq }, hint: REPAIR_HINT });
}

/**
 * Refuses a parsed record cairn cannot have written (LOG_CORRUPT or LOG_INVALID, with its seq);
 * `plain` when its bytes already rule out a bad shape (codec.ts verifiedForm).
 */
function checkRecord(rec: unknown, seq: number, withId: boolean, plain = false): void {
  if (!plain) checkShape(rec, seq);
  const bad = envelopeProblem(rec, withId);
  if (bad) throw new CairnError('LOG_INVALID', `record seq ${seq}: ${bad}`, { details: { seq }, hint: REPAIR_HINT });
}

function checkShape(rec: unknown, seq: number): void {
  const shape = shapeProblem(rec, 1);
  if (shape === 'proto') {
    throw new CairnError('LOG_CORRUPT', `record seq ${seq} contains a __proto__ key`, { details: { seq }, hint: REPAIR_HINT });
  }
  if (shape === 'deep') {
    throw new CairnError('LOG_INVALID', `record seq ${seq} is nested deeper than ${MAX_DEPTH} levels; cairn never writes that`, { details: { seq }, hint: REPAIR_HINT });
  }
}

let lastGoodTs = '';

/**
 * Why a parsed record's envelope is not what cairn writes, or null. apply checks the entity fields
 * it uses; the envelope (ts above all, which becomes submitted_at, started_at, …) is checked here,
 * so a crc-valid record with a wrong type cannot reach the state and crash a later reader.
 */
export function envelopeProblem(rec: unknown, withId = true): string | null {
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return 'not a JSON object';
  const r = rec as Record<string, unknown>;
  // Without its id: a record parsed by parseReplayLine, whose id was checked in the bytes.
  if (withId && typeof r.id !== 'string') return 'its id is not a string';
  if (typeof r.ts !== 'string') return 'its ts is not a timestamp';
  // The records of one decision share their ts: parse each distinct one once.
  if (r.ts !== lastGoodTs) {
    if (!isIsoTs(r.ts) && Number.isNaN(Date.parse(r.ts))) return 'its ts is not a timestamp';
    lastGoodTs = r.ts;
  }
  if (typeof r.type !== 'string') return 'its type is not a string';
  switch (r.severity) {
    case 'info': case 'warning': case 'error': case 'critical': break;
    default: return 'its severity is not info, warning, error or critical';
  }
  if (r.operator !== null && typeof r.operator !== 'string') return 'its operator is neither null nor a string';
  if (r.reason !== undefined && typeof r.reason !== 'string') return 'its reason is not a string';
  if (r.caused_by !== undefined && typeof r.caused_by !== 'string') return 'its caused_by is not a string';
  return null;
}

/**
 * Whether `s` is a time as cairn writes it (Date#toISOString: `YYYY-MM-DDTHH:MM:SS.mmmZ`) with
 * every field in range: each such string is one Date.parse accepts, found with char codes at a
 * tenth of the cost of parsing it (replay checks one per decision). Anything else is left to
 * Date.parse.
 */
export function isIsoTs(s: string): boolean {
  if (s.length !== 24 || s.charCodeAt(4) !== 0x2d || s.charCodeAt(7) !== 0x2d || s.charCodeAt(10) !== 0x54 || s.charCodeAt(13) !== 0x3a ||
      s.charCodeAt(16) !== 0x3a || s.charCodeAt(19) !== 0x2e || s.charCodeAt(23) !== 0x5a) return false;
  for (const i of TS_DIGITS) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  const two = (i: number) => (s.charCodeAt(i) - 0x30) * 10 + s.charCodeAt(i + 1) - 0x30;
  const month = two(5);
  const day = two(8);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && two(11) <= 23 && two(14) <= 59 && two(17) <= 59;
}

const TS_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];

/** What to do about a log git merged line by line. */
export const MERGE_HINT = 'See both sides: cairn validate-state. Keep ours and set theirs aside: cairn repair-state --dry-run, then --yes. Or redo the merge through the driver: git merge --abort, cairn git-setup, git merge again';

export const REPAIR_HINT = 'Run: cairn repair-state --dry-run (it keeps every record before the bad one and sets the rest aside), then cairn repair-state --yes';

/** Backups, newest first. */
export function listBackups(io: FsLayer, paths: StatePaths): { file: string; stamp: string; seq: number }[] {
  const st = io.lstatSync(paths.backups);
  if (!st) return [];
  if (!st.isDirectory() || st.isSymbolicLink()) throw unsafe(paths.backups);
  const out: { file: string; stamp: string; seq: number }[] = [];
  for (const f of io.readdirSync(paths.backups)) {
    const m = BACKUP_NAME.exec(f);
    if (m) out.push({ file: f, stamp: m[1]!, seq: Number(m[2]) });
  }
  out.sort((a, b) => (a.stamp === b.stamp ? b.seq - a.seq : a.stamp < b.stamp ? 1 : -1));
  return out;
}

/** Throws the error a damaged log deserves (exit 3), naming the bad seq and the repair command. */
export function corruptError(p: Extract<LogProblem, { kind: 'corrupt' }>): CairnError {
  if (p.merge) {
    return new CairnError('LOG_MERGE_CONFLICT', `transitions.jsonl was merged line by line by git after seq ${p.seq - 1}: ${p.reason}; cairn will not write`, {
      details: { seq: p.seq, offset: p.offset, reason: p.reason },
      hint: MERGE_HINT,
    });
  }
  return new CairnError('LOG_CORRUPT', `transitions.jsonl is damaged at seq ${p.seq} (byte ${p.offset}): ${p.reason}, and valid records follow it; cairn will not write`, {
    details: { seq: p.seq, offset: p.offset, reason: p.reason },
    hint: REPAIR_HINT,
  });
}

/** Reads the whole file as text through the layer (for small files like config.json). */
export function readText(io: FsLayer, path: string): string | undefined {
  return readWhole(io, path)?.toString('utf8');
}

export { FLAGS };
