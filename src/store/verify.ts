import { CairnError } from '../errors.js';
import { compactJson } from '../log/canonical.js';
import { checkInvariants } from '../model/invariants.js';
import { State } from '../model/state.js';
import type { LogRecord } from '../model/types.js';
import { STATE_FILE_SCHEMAS, validateStateFile, type StateFileKind } from '../schemas/files-validate.js';
import { analyzeMergedLog, describeLine } from '../history/merged-log.js';
import { interventionLines, listCheckpointSeqs } from './derived.js';
import { type FsLayer, readWhole, unsafe } from './fsio.js';
import { applyLine, MERGE_HINT, REPAIR_HINT } from './load.js';
import { scanLog } from './logfile.js';
import { logStart } from './log-base.js';
import { carriedInterventions, startState } from './log-base-state.js';
import { metricsDoc } from './metrics.js';
import { configProblems } from './verify-config.js';
import { brokenChains, lastTransitions, missingCheckpoints } from './verify-checkpoints.js';
import type { StatePaths } from './paths.js';
import { checkCheckpoint, checkpointDoc, checkSnapshot, hashMatches, parseDoc, snapshotDoc, snapshotHashMatches, workstreamDoc, type SnapshotDoc } from './snapshot.js';

/** One thing validate-state found wrong, with the command that fixes it. */
export interface Problem {
  code: string;
  message: string;
  fix: string;
  /** The file it is about, relative to the state folder (schema problems). */
  file?: string;
  /** The JSON path in that file, like `$.workstreams.w.tasks.a.retry_count` (schema problems). */
  path?: string;
  /** Facts a program may want (LOG_MERGE_CONFLICT: the last common seq and both sides' records). */
  details?: Record<string, unknown>;
}

const REBUILD = 'cairn restore-state --from-transitions .state/transitions.jsonl --yes';
const REPAIR = 'cairn repair-state --dry-run, then cairn repair-state --yes';

/**
 * Checks a state folder end to end without changing it: the log's chain and seq, every record legal
 * by the transition tables (a full replay from seq 1), config.json as commands read it, the invariants of DESIGN §2 on the result,
 * current.json, checkpoints, archive files and metrics.json against their JSON Schemas
 * (SCHEMA_INVALID_FILE, one problem per violation with its file and path), and every derived file
 * (current.json, archive, checkpoints and their hashes, metrics.json, interventions.log) equal to
 * what the replay gives at the seq it claims.
 */
export function verifyState(io: FsLayer, paths: StatePaths): { problems: Problem[]; seq: number; records: number } {
  const problems: Problem[] = configProblems(io, paths);
  const snap = readSnapshot(io, paths, problems);
  const checkpoints = collectCheckpoints(io, paths, problems);
  const archives = collectArchives(io, paths, problems);
  const want = new Set<number>([...checkpoints.keys(), ...archives.keys()]);
  if (snap) want.add(snap.seq);

  // Old segments moved out: the replay starts from the base's state, at its seq and crc.
  const begin = logStart(io, paths.log);
  const state = startState(io, paths.log, begin);
  const records: LogRecord[] = [];
  let replayError: CairnError | null = null;
  let expected: Map<string, number> | null = null;
  const check = (seq: number) => {
    if (snap && seq === snap.seq) {
      compareSnapshot(state, snap, problems);
      expected = lastTransitions(state);
    }
    for (const c of checkpoints.get(seq) ?? []) compareCheckpoint(state, c, problems);
    for (const a of archives.get(seq) ?? []) compareArchive(state, a, problems);
  };
  if (want.has(0)) check(0);
  const scan = scanLog(io, paths.log, begin.pos, (buf, start, end, seq) => {
    if (replayError) return;
    try {
      // The same checks and apply as loading: a record load refuses, validate-state reports.
      const r = applyLine(state, buf, start, end, seq);
      if (r.operator !== null && typeof r.action === 'string') records.push(r);
    } catch (e) {
      replayError = e instanceof CairnError ? e : new CairnError('LOG_INVALID', `record seq ${seq} cannot be applied: ${(e as Error).message}`);
      return;
    }
    if (want.has(seq)) check(seq);
  });
  if (scan.problem) {
    const p = scan.problem;
    problems.push(p.kind === 'corrupt' && p.merge
      ? mergeProblem(readWhole(io, paths.log) ?? Buffer.alloc(0))
      : p.kind === 'corrupt' && p.segment
      ? { code: 'LOG_SEGMENT_DAMAGED', message: `the log is damaged at seq ${p.seq} (byte ${p.offset}), in its closed segments: ${p.reason}`, fix: REPAIR, details: { segment: p.segment, seq: p.seq } }
      : p.kind === 'corrupt'
      ? { code: 'LOG_CORRUPT', message: `the log is damaged at seq ${p.seq} (byte ${p.offset}): ${p.reason}; valid records follow`, fix: REPAIR }
      : { code: 'LOG_TORN_TAIL', message: `the log ends with ${p.bytes} bytes of an unfinished record (seq ${p.seq})`, fix: 'any cairn command that writes sets it aside; or: cairn repair-state --yes' });
  }
  if (replayError) {
    const e = replayError as CairnError;
    problems.push({ code: e.code === 'LOG_INVALID' ? 'ILLEGAL_TRANSITION_IN_LOG' : e.code, message: e.message, fix: REPAIR });
    return { problems, seq: state.seq, records: scan.records };
  }
  if (snap && snap.seq > scan.end.seq) {
    problems.push({ code: 'SNAPSHOT_TOO_NEW', message: `current.json is at seq ${snap.seq} but the log ends at ${scan.end.seq}`, fix: REBUILD });
  }
  if (expected) problems.push(...missingCheckpoints(io, paths, expected));
  problems.push(...brokenChains(io, paths, checkpoints));
  for (const v of checkInvariants(state)) problems.push({ code: v.code, message: v.message, fix: v.fix ?? REPAIR });
  compareDerivedNow(io, paths, state, records, problems);
  return { problems, seq: state.seq, records: scan.records };
}

function readSnapshot(io: FsLayer, paths: StatePaths, problems: Problem[]): SnapshotDoc | null {
  try {
    const buf = readWhole(io, paths.current);
    if (!buf) {
      problems.push({ code: 'SNAPSHOT_MISSING', message: 'current.json is missing', fix: REBUILD });
      return null;
    }
    const doc = parseDoc(buf, 'current.json');
    checkSchema('current', 'current.json', doc, problems);
    if (typeof doc.hash === 'string' && !snapshotHashMatches(doc)) {
      // Report the broken hash, and still compare the content so the message says what was changed.
      problems.push({ code: 'SNAPSHOT_INVALID', message: 'current.json: its hash does not match its content (edited or damaged); loading ignores it', fix: REBUILD });
      return checkSnapshot(doc, 'current.json', { hashChecked: true });
    }
    return checkSnapshot(doc, 'current.json');
  } catch (e) {
    problems.push({ code: 'SNAPSHOT_INVALID', message: (e as Error).message, fix: REBUILD });
    return null;
  }
}

type Ckpt = { file: string; doc: ReturnType<typeof checkCheckpoint> };

function collectCheckpoints(io: FsLayer, paths: StatePaths, problems: Problem[]): Map<number, Ckpt[]> {
  const out = new Map<number, Ckpt[]>();
  const st = io.lstatSync(paths.checkpoints);
  if (!st) return out;
  if (st.isSymbolicLink() || !st.isDirectory()) {
    problems.push({ code: 'UNSAFE_PATH', message: `${paths.checkpoints} is a symbolic link or not a folder; cairn does not read through it`, fix: 'move it away by hand, then cairn repair-state --yes (rebuilds the checkpoints from the log)', file: 'checkpoints' });
    return out;
  }
  for (const f of io.readdirSync(paths.checkpoints)) {
    const m = /^(.+)_latest\.json$/.exec(f);
    const files: string[] = [];
    if (m) files.push(f);
    else if (io.lstatSync(`${paths.checkpoints}/${f}`)?.isDirectory()) {
      try {
        for (const n of listCheckpointSeqs(io, paths, f)) files.push(`${f}/${n}.json`);
      } catch (e) {
        problems.push({ code: 'UNSAFE_PATH', message: (e as Error).message, fix: 'remove the link by hand' });
      }
    }
    for (const file of files) {
      try {
        const raw = parseDoc(readWhole(io, `${paths.checkpoints}/${file}`)!.toString('utf8'), `checkpoints/${file}`);
        checkSchema('checkpoint', `checkpoints/${file}`, raw, problems);
        const doc = checkCheckpoint(raw, `checkpoints/${file}`);
        const list = out.get(doc.seq) ?? [];
        list.push({ file, doc });
        out.set(doc.seq, list);
      } catch (e) {
        problems.push({ code: 'CHECKPOINT_INVALID', message: (e as Error).message, fix: `${REBUILD} (rewrites every checkpoint), or delete checkpoints/${file}` });
      }
    }
  }
  return out;
}

type Arch = { file: string; doc: Record<string, unknown> };

function collectArchives(io: FsLayer, paths: StatePaths, problems: Problem[]): Map<number, Arch[]> {
  const out = new Map<number, Arch[]>();
  const st = io.lstatSync(paths.archive);
  if (!st) return out;
  if (st.isSymbolicLink() || !st.isDirectory()) {
    problems.push({ code: 'UNSAFE_PATH', message: `${paths.archive} is a symbolic link or not a folder; cairn does not read through it`, fix: 'move it away by hand, then cairn repair-state --yes (rebuilds the archive from the log)', file: 'archive' });
    return out;
  }
  for (const f of io.readdirSync(paths.archive)) {
    if (!f.endsWith('.json') || f.startsWith('.')) continue;
    try {
      const doc = parseDoc(readWhole(io, `${paths.archive}/${f}`)!.toString('utf8'), `archive/${f}`);
      checkSchema('archive', `archive/${f}`, doc, problems);
      checkArchiveHash(f, doc, problems);
      const seq = doc.seq as number;
      const list = out.get(seq) ?? [];
      list.push({ file: f, doc });
      out.set(seq, list);
    } catch (e) {
      problems.push({ code: 'ARCHIVE_INVALID', message: (e as Error).message, fix: REBUILD });
    }
  }
  return out;
}

/** A missing or wrong hash makes loading ignore every snapshot that needs the file; the content is still compared, so the report says what changed. */
function checkArchiveHash(f: string, doc: Record<string, unknown>, problems: Problem[]): void {
  const why = typeof doc.hash !== 'string' ? 'it has no hash (written by an older cairn, or edited)'
    : !hashMatches(doc) ? 'its hash does not match its content (edited or damaged)' : null;
  if (why) problems.push({ code: 'ARCHIVE_INVALID', message: `archive/${f}: ${why}; loading does not trust it and replays the log instead`, fix: `cairn repair-state --yes (rebuilds archive/${f} from the log), or ${REBUILD}`, file: `archive/${f}` });
}

/** Schema problems reported per file; the rest are counted in one more problem. */
const SCHEMA_PROBLEMS_SHOWN = 20;

/**
 * Reports every violation of the file's JSON Schema as SCHEMA_INVALID_FILE with its file and JSON
 * path. restore-state rewrites current.json, archive files and metrics.json, but leaves checkpoints
 * it has no newer transition for; repair-state rebuilds every checkpoint.
 */
function checkSchema(kind: StateFileKind, file: string, doc: unknown, problems: Problem[]): void {
  const found = validateStateFile(kind, doc);
  if (found.length === 0) return;
  const schema = `schemas/${String(STATE_FILE_SCHEMAS[kind].$id).split('/').pop()}`;
  const fix = kind === 'checkpoint' ? `cairn repair-state --yes (rebuilds every checkpoint from the log), or delete ${file}` : REBUILD;
  for (const p of found.slice(0, SCHEMA_PROBLEMS_SHOWN)) {
    problems.push({ code: 'SCHEMA_INVALID_FILE', message: `${file} does not match ${schema}: ${p.path} ${p.message}`, fix, file, path: p.path });
  }
  if (found.length > SCHEMA_PROBLEMS_SHOWN) {
    const more = found.length - SCHEMA_PROBLEMS_SHOWN;
    problems.push({ code: 'SCHEMA_INVALID_FILE', message: `${file} has ${more} more problem(s) against ${schema} (not listed)`, fix, file, path: '$' });
  }
}

function compareSnapshot(state: State, snap: SnapshotDoc, problems: Problem[]): void {
  const mine = snapshotDoc(state, snap.log_offset, snap.written_at, new Map(Object.entries(snap.archived)));
  if (mine.crc !== snap.crc) {
    problems.push({ code: 'SNAPSHOT_FOREIGN', message: `current.json says crc ${snap.crc} at seq ${snap.seq}, the log has ${mine.crc}`, fix: REBUILD });
    return;
  }
  for (const k of ['workstreams', 'workers', 'resources', 'scheduler', 'metrics'] as const) {
    if (compactJson(mine[k]) !== compactJson(snap[k])) {
      problems.push({ code: 'SNAPSHOT_DIFFERS', message: `current.json (seq ${snap.seq}) differs from a replay of the log in ${k}${firstDiff(mine[k], snap[k])}`, fix: REBUILD });
    }
  }
  const archivedNow = Object.keys(mine.archived).sort().join(',');
  if (archivedNow !== Object.keys(snap.archived).sort().join(',')) {
    problems.push({ code: 'SNAPSHOT_DIFFERS', message: `current.json lists archived workstreams ${Object.keys(snap.archived).join(', ') || '(none)'}; the replay has ${archivedNow || '(none)'}`, fix: REBUILD });
  }
}

function compareCheckpoint(state: State, c: Ckpt, problems: Problem[]): void {
  const ws = c.doc.workstream_id;
  if (!state.workstreams.has(ws)) {
    problems.push({ code: 'CHECKPOINT_DIFFERS', message: `checkpoints/${c.file} names workstream ${ws}, which does not exist at seq ${c.doc.seq}`, fix: `delete checkpoints/${c.file}` });
    return;
  }
  const mine = checkpointDoc(state, ws);
  // Where the file stands among its workstream's files depends on when it was written, not on the log.
  const { previous: _p, oldest_kept: _o, hash: _h, ...a } = mine;
  const { previous: _q, oldest_kept: _r, hash: _i, ...b } = c.doc;
  if (mine.seq !== c.doc.seq || compactJson(a) !== compactJson(b)) {
    problems.push({ code: 'CHECKPOINT_DIFFERS', message: `checkpoints/${c.file} differs from a replay of the log at seq ${c.doc.seq}`, fix: REBUILD });
  }
}

function compareArchive(state: State, a: Arch, problems: Problem[]): void {
  const w = a.doc.workstream as { id?: string } | undefined;
  const id = w?.id;
  if (typeof id !== 'string' || !state.workstreams.has(id)) {
    problems.push({ code: 'ARCHIVE_DIFFERS', message: `archive/${a.file} names a workstream that does not exist at seq ${String(a.doc.seq)}`, fix: REBUILD });
    return;
  }
  if (compactJson(workstreamDoc(state, id)) !== compactJson(w)) {
    problems.push({ code: 'ARCHIVE_DIFFERS', message: `archive/${a.file} differs from a replay of the log at seq ${String(a.doc.seq)}`, fix: REBUILD });
  }
}

function compareDerivedNow(io: FsLayer, paths: StatePaths, state: State, manual: LogRecord[], problems: Problem[]): void {
  compareInterventions(io, paths, manual, problems);
  try {
    const buf = readWhole(io, paths.metrics);
    if (buf) {
      const m = parseDoc(buf.toString('utf8'), 'metrics.json');
      checkSchema('metrics', 'metrics.json', m, problems);
      if (m.seq === state.seq) {
        const mine = metricsDoc(state, String(m.generated_at));
        if (compactJson(mine) !== compactJson(m)) problems.push({ code: 'METRICS_DIFFER', message: 'metrics.json differs from a replay of the log', fix: REBUILD });
      }
    }
  } catch (e) {
    problems.push({ code: 'METRICS_INVALID', message: (e as Error).message, fix: REBUILD });
  }
}

/** interventions.log equals the lines the log's manual actions give; a link or a folder there is reported, never followed. */
function compareInterventions(io: FsLayer, paths: StatePaths, manual: LogRecord[], problems: Problem[]): void {
  const st = io.lstatSync(paths.interventions);
  let have = '';
  try {
    if (st && !st.isFile()) throw unsafe(paths.interventions);
    have = readWhole(io, paths.interventions)?.toString('utf8') ?? '';
  } catch (e) {
    if (!(e instanceof CairnError && e.code === 'UNSAFE_PATH')) throw e;
    const link = io.lstatSync(paths.interventions)?.isSymbolicLink() ?? false;
    problems.push({
      code: 'INTERVENTIONS_UNSAFE',
      message: `interventions.log is ${link ? 'a symbolic link' : 'not a regular file'}; cairn does not follow or read it`,
      fix: link ? 'cairn repair-state --yes (replaces the link with the file rebuilt from the log; what it points to is left alone)'
        : 'move .state/interventions.log away by hand, then cairn repair-state --yes (rebuilds it from the log)',
      file: 'interventions.log',
    });
    return;
  }
  // Old segments moved out: the lines of the manual records before the base come from the base.
  if (have !== carriedInterventions(io, paths.log, logStart(io, paths.log).base) + interventionLines(manual).join('')) {
    problems.push({ code: 'INTERVENTIONS_DIFFER', message: 'interventions.log differs from the manual actions recorded in the log', fix: 'cairn repair-state --yes (rebuilds it from the log)' });
  }
}

function firstDiff(a: unknown, b: unknown, path = ''): string {
  if (compactJson(a) === compactJson(b)) return '';
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of [...keys].sort()) {
      const d = firstDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  return ` (first at ${path || '.'}: replay ${JSON.stringify(a)?.slice(0, 80)}, file ${JSON.stringify(b)?.slice(0, 80)})`;
}

export { REPAIR_HINT };

/** LOG_MERGE_CONFLICT: where the two branches fork, and each one's records after it. */
function mergeProblem(log: Buffer): Problem {
  const m = analyzeMergedLog(log);
  const side = (ls: typeof m.ours) => ls.map((l) => describeLine(log, l));
  const ours = side(m.ours);
  const theirs = side(m.theirs);
  const list = (xs: typeof ours) => (xs.length === 0 ? 'none' : xs.map((x) => `${x.seq} ${x.type}${x.ids ? ` ${x.ids}` : ''}`).join(', '));
  return {
    code: 'LOG_MERGE_CONFLICT',
    message: `git merged the log line by line (without the cairn merge driver): both branches appended after seq ${m.common.seq}, the last common record. Ours (first in the file): ${list(ours)}. Theirs: ${list(theirs)}${m.markers ? `; ${m.markers} conflict marker line(s)` : ''}${m.stray ? `; ${m.stray} line(s) of neither branch` : ''}`,
    fix: MERGE_HINT,
    details: { last_common_seq: m.common.seq, ours, theirs, markers: m.markers, stray: m.stray },
  };
}
