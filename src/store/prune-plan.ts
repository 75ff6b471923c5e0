import { TERMINAL_TASK_STATES, TERMINAL_WORKSTREAM_STATES } from '../model/states.js';
import type { StateView } from '../model/state.js';
import { prettyJson } from '../log/canonical.js';
import type { Config } from '../schemas/config.js';
import { listCheckpointSeqs } from './derived.js';
import { type FsLayer, readWhole, unsafe } from './fsio.js';
import { listBackups } from './load.js';
import type { StatePaths } from './paths.js';
import { checkCheckpoint, checkpointHash, checkSnapshot, parseDoc } from './snapshot.js';

/** The config keys retention follows; each removal names the one that chose it. */
export type RetentionRule =
  | 'backups_keep' | 'backups_max_age_days'
  | 'checkpoints_keep' | 'checkpoints_finished_max_age_days' | 'checkpoints_failed_max_age_days'
  | 'attempt_logs_max_age_days' | 'failed_attempt_logs_max_age_days'
  | 'archived_workstreams_max_age_days';

/** A file retention removes: its path relative to the state folder, its size, and the rule and reason. */
export interface PruneRemoval { file: string; bytes: number; rule: RetentionRule; why: string }
/** A file a rule matched but that is kept, and why (what loading, restore or a running task needs). */
export interface PruneKept { file: string; rule: RetentionRule; why: string }
/** A checkpoint file rewritten so validate-state's chain walk ends at the oldest file left. */
export interface PruneRewrite { file: string; why: string }

export interface PrunePlan {
  remove: PruneRemoval[];
  kept: PruneKept[];
  rewrite: (PruneRewrite & { text: string })[];
  notes: string[];
}

const DAY_MS = 86_400_000;

/**
 * What retention removes now (DESIGN §4), as data; store/prune.ts carries it out. Only derived and
 * cache files are candidates: backups, checkpoint files and attempt logs. MUST, so nothing the log or
 * loading needs goes:
 * - the log, current.json, archive files (current.json and every backup load through them: without
 *   one, loading falls back to an older backup or a full replay), metrics, config, interventions and
 *   whole-state snapshots are never candidates;
 * - the newest valid backup stays, and when current.json is not what the state loaded from, every
 *   backup stays (loading and restore-state may need them);
 * - each workstream's `<ws>_latest.json` and the checkpoint file it copies stay, and checkpoint files
 *   go oldest first only, never from the middle of the chain validate-state follows;
 * - attempt logs of a task that is not finished (running, retrying, queued, …) stay.
 * Ages are files' mtimes, except an archived workstream's, which is its `finished_at` from the log.
 */
export function planPrune(io: FsLayer, paths: StatePaths, state: StateView, cfg: Config, nowMs: number, loadedFrom: string): PrunePlan {
  const plan: PrunePlan = { remove: [], kept: [], rewrite: [], notes: [] };
  planBackups(io, paths, cfg, nowMs, loadedFrom, plan);
  planCheckpoints(io, paths, state, cfg, nowMs, plan);
  planAttemptLogs(io, paths, state, cfg, nowMs, plan);
  return plan;
}

/** Days since `ms`, and whether that is past `limit` (null: no limit). */
function olderThan(limit: number | null, ms: number, nowMs: number): boolean {
  return limit !== null && nowMs - ms > limit * DAY_MS;
}

function ageText(ms: number, nowMs: number): string {
  return `${((nowMs - ms) / DAY_MS).toFixed(1)} days old`;
}

function planBackups(io: FsLayer, paths: StatePaths, cfg: Config, nowMs: number, loadedFrom: string, plan: PrunePlan): void {
  const list = listBackups(io, paths); // newest first
  if (list.length === 0) return;
  if (loadedFrom !== 'current.json') {
    plan.notes.push(`current.json was not usable (the state loaded from ${loadedFrom}): every backup is kept, since loading and restore-state may need them`);
    return;
  }
  const matched: { file: string; bytes: number; rule: RetentionRule; why: string }[] = [];
  list.forEach((b, i) => {
    const st = io.lstatSync(`${paths.backups}/${b.file}`);
    if (!st || !st.isFile()) return;
    if (i >= cfg.backups_keep) matched.push({ file: b.file, bytes: st.size, rule: 'backups_keep', why: `beyond the newest ${cfg.backups_keep} backups` });
    else if (olderThan(cfg.backups_max_age_days, st.mtimeMs, nowMs)) {
      matched.push({ file: b.file, bytes: st.size, rule: 'backups_max_age_days', why: `${ageText(st.mtimeMs, nowMs)}, older than ${cfg.backups_max_age_days} days` });
    }
  });
  if (matched.length === 0) return; // the usual case after a run: no backup is read
  const newestValid = list.find((b) => isValidSnapshot(io, `${paths.backups}/${b.file}`))?.file ?? null;
  for (const m of matched) {
    if (m.file === newestValid) plan.kept.push({ file: `backups/${m.file}`, rule: m.rule, why: 'the newest valid backup is always kept' });
    else plan.remove.push({ ...m, file: `backups/${m.file}` });
  }
}

function isValidSnapshot(io: FsLayer, file: string): boolean {
  try {
    const buf = readWhole(io, file);
    if (!buf) return false;
    checkSnapshot(parseDoc(buf.toString('utf8'), file), file);
    return true;
  } catch {
    return false;
  }
}

function finishedLongAgo(state: StateView, wsId: string, limit: number | null, nowMs: number): string | null {
  const ws = state.workstream(wsId);
  if (!ws || !TERMINAL_WORKSTREAM_STATES.has(ws.state) || ws.finished_at === null) return null;
  const at = Date.parse(ws.finished_at);
  return olderThan(limit, at, nowMs) ? `workstream ${wsId} ${ws.state} ${ageText(at, nowMs).replace(' old', ' ago')}, more than ${limit} days` : null;
}

function planCheckpoints(io: FsLayer, paths: StatePaths, state: StateView, cfg: Config, nowMs: number, plan: PrunePlan): void {
  const root = io.lstatSync(paths.checkpoints);
  if (!root) return;
  if (root.isSymbolicLink() || !root.isDirectory()) throw unsafe(paths.checkpoints);
  for (const wsId of state.workstreamIds().sort()) {
    const seqs = listCheckpointSeqs(io, paths, wsId); // oldest first
    if (seqs.length === 0) continue;
    let latest: Latest | null | undefined; // read only when some file of this workstream matches a rule
    let keepSeqs = new Set([seqs[seqs.length - 1]!]);
    const ws = state.workstream(wsId)!;
    const finished = TERMINAL_WORKSTREAM_STATES.has(ws.state);
    // A failed workstream's checkpoints may be kept longer: rollback and investigation start from them.
    const [ageRule, ageLimit]: [RetentionRule, number | null] = ws.state === 'failed' && cfg.checkpoints_failed_max_age_days !== null
      ? ['checkpoints_failed_max_age_days', cfg.checkpoints_failed_max_age_days]
      : ['checkpoints_finished_max_age_days', cfg.checkpoints_finished_max_age_days];
    const archivedWhy = finishedLongAgo(state, wsId, cfg.archived_workstreams_max_age_days, nowMs);
    let floor: number | null = null;
    let removed = 0;
    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i]!;
      const file = paths.checkpoint(wsId, seq);
      const rel = `checkpoints/${wsId}/${seq}.json`;
      const st = io.lstatSync(file);
      if (!st || !st.isFile()) break;
      let rule: RetentionRule | null = null;
      let why = '';
      if (seqs.length - i > cfg.checkpoints_keep) [rule, why] = ['checkpoints_keep', `beyond the newest ${cfg.checkpoints_keep} checkpoints of ${wsId}`];
      else if (archivedWhy) [rule, why] = ['archived_workstreams_max_age_days', archivedWhy];
      else if (finished && olderThan(ageLimit, st.mtimeMs, nowMs)) {
        [rule, why] = [ageRule, `${ageText(st.mtimeMs, nowMs)}, older than ${ageLimit} days, of ${ws.state} workstream ${wsId}`];
      }
      if (rule !== null && latest === undefined) {
        latest = readLatest(io, paths, wsId);
        if (latest) keepSeqs = new Set([...keepSeqs, latest.seq]);
      }
      if (rule !== null && keepSeqs.has(seq)) plan.kept.push({ file: rel, rule, why: `the latest checkpoint of ${wsId} is always kept` });
      // Oldest first and no further: a file removed above one that stays would break the chain.
      if (rule === null || keepSeqs.has(seq)) {
        floor = seq;
        break;
      }
      plan.remove.push({ file: rel, bytes: st.size, rule, why });
      removed++;
    }
    // Only after a removal: a floor below files deleted by hand stays, so validate-state still reports them.
    if (removed > 0 && floor !== null && latest && latest.doc.oldest_kept < floor) raiseFloor(wsId, latest, floor, seqs, plan);
  }
}

interface Latest { seq: number; doc: ReturnType<typeof checkCheckpoint> }

function readLatest(io: FsLayer, paths: StatePaths, wsId: string): Latest | null {
  try {
    const buf = readWhole(io, paths.checkpointLatest(wsId));
    if (!buf) return null;
    const doc = checkCheckpoint(parseDoc(buf.toString('utf8'), `${wsId}_latest.json`), `${wsId}_latest.json`);
    return { seq: doc.seq, doc };
  } catch {
    return null; // a bad latest file: validate-state reports it; retention leaves the chain alone
  }
}

/**
 * `<ws>_latest.json` (and the file it copies) names the oldest checkpoint kept when it was written;
 * validate-state walks `previous` links down to it. Once older files go, that floor is raised to the
 * oldest file left, so the walk ends there instead of reporting the removed ones missing.
 */
function raiseFloor(wsId: string, latest: Latest, floor: number, seqs: number[], plan: PrunePlan): void {
  const { hash: _h, ...body } = latest.doc;
  const next = { ...body, oldest_kept: floor };
  const text = prettyJson({ ...next, hash: checkpointHash(next) });
  const why = `oldest_kept ${latest.doc.oldest_kept} -> ${floor}: the older checkpoint files of ${wsId} are removed`;
  plan.rewrite.push({ file: `checkpoints/${wsId}_latest.json`, why, text });
  if (seqs.includes(latest.seq)) plan.rewrite.push({ file: `checkpoints/${wsId}/${latest.seq}.json`, why, text });
}

function planAttemptLogs(io: FsLayer, paths: StatePaths, state: StateView, cfg: Config, nowMs: number, plan: PrunePlan): void {
  // No age rule for logs (the default): not one stat per attempt log at the end of every run.
  if (cfg.attempt_logs_max_age_days === null && cfg.failed_attempt_logs_max_age_days === null && cfg.archived_workstreams_max_age_days === null) return;
  const root = io.lstatSync(paths.logs);
  if (!root) return;
  if (root.isSymbolicLink() || !root.isDirectory()) throw unsafe(paths.logs);
  for (const wsId of io.readdirSync(paths.logs).sort()) {
    // `_workers` and anything the state does not know (a log of a history restored away) are not ours to judge.
    if (!state.workstream(wsId)) continue;
    const dir = paths.taskLogDir(wsId);
    const dst = io.lstatSync(dir);
    if (!dst || dst.isSymbolicLink() || !dst.isDirectory()) continue;
    const archivedWhy = finishedLongAgo(state, wsId, cfg.archived_workstreams_max_age_days, nowMs);
    for (const f of io.readdirSync(dir).sort()) {
      const m = /^(.+)\.(\d+)\.log$/.exec(f);
      if (!m) continue;
      const task = state.task(wsId, m[1]!);
      if (!task) continue;
      const st = io.lstatSync(`${dir}/${f}`);
      if (!st || !st.isFile()) continue;
      const rel = `logs/${wsId}/${f}`;
      const completedAttempt = task.state === 'completed' && Number(m[2]) === task.attempt;
      let rule: RetentionRule | null = null;
      let why = '';
      if (archivedWhy) [rule, why] = ['archived_workstreams_max_age_days', archivedWhy];
      else if (completedAttempt && olderThan(cfg.attempt_logs_max_age_days, st.mtimeMs, nowMs)) {
        [rule, why] = ['attempt_logs_max_age_days', `a completed attempt's log, ${ageText(st.mtimeMs, nowMs)}, older than ${cfg.attempt_logs_max_age_days} days`];
      } else if (!completedAttempt && olderThan(cfg.failed_attempt_logs_max_age_days, st.mtimeMs, nowMs)) {
        [rule, why] = ['failed_attempt_logs_max_age_days', `the log of an attempt that did not complete its task, ${ageText(st.mtimeMs, nowMs)}, older than ${cfg.failed_attempt_logs_max_age_days} days`];
      }
      if (rule === null) continue;
      if (!TERMINAL_TASK_STATES.has(task.state)) plan.kept.push({ file: rel, rule, why: `task ${wsId}/${task.id} is ${task.state}: logs of unfinished tasks are always kept` });
      else plan.remove.push({ file: rel, bytes: st.size, rule, why });
    }
  }
}
