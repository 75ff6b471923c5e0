import * as path from 'node:path';
import { ACTIVE_TASK_STATES } from '../../model/states.js';
import { splitKey } from '../../model/types.js';
import { decide as repairDecide, orphanedTasks } from '../../recovery/repair-state.js';
import { isAlive } from '../../runner/kill.js';
import { killOrphanTask } from '../../scheduler/liveness.js';
import { readConfig } from '../../store/config.js';
import { copyForRehearsal, copyStateFolder, digestStateFiles, makeScratch, removeScratch, type CopyResult } from '../../store/copy.js';
import { gitignored, ignoreCopies } from '../../store/init.js';
import { stampOf } from '../../store/paths.js';
import { carrySources } from '../../store/repair-sources.js';
import { realFs } from '../../store/fsio.js';
import { loadState } from '../../store/load.js';
import { StatePaths } from '../../store/paths.js';
import { clearLock, inspectLog, lockStates, rebuildDerived, setAsideLogTail, type AsideLine, type LockState, type LogDamage, type LogInspection } from '../../store/repair.js';
import { checkRoot, Store } from '../../store/store.js';
import { verifyState, type Problem } from '../../store/verify.js';
import { stateDirOf } from '../common.js';
import { commitIntervention, type GitCommitInfo } from '../git-commit.js';
import type { LogRecord } from '../../model/types.js';
import { refuseWhileScheduling } from '../scheduler-guard.js';
import { actor, type ActionOptions, type RecordView } from './action.js';

export interface RepairResult {
  dry_run: boolean;
  changed: boolean;
  message: string;
  log: {
    size: number; good_seq: number; good_offset: number; damage: LogDamage | null;
    set_aside: { bytes: number; lines: AsideLine[] } | null; set_aside_file: string | null;
    /** What became of each record of the damaged stretch: intact, corrected, lost (a placeholder keeps its seq), unverified, set aside. */
    salvage: { seq: number; kind: string; note: string }[];
    /** seq of the last record the repaired log holds. */
    end_seq: number;
  };
  stale_locks: LockState[];
  /** Derived files that do not match the log (validate-state's codes). */
  derived_problems: Problem[];
  /** Resources current.json says are held by tasks that are not running. */
  released: string[];
  orphaned_tasks: string[];
  /** Workstreams carried forward from newer derived files, as `<ws> from <file>`. */
  carried: string[];
  /** Every action, in the order taken (or, for a dry run, the order the real run takes them); the same lines as the state_repaired record. */
  actions: string[];
  /** Every file of the state folder the repair writes, adds or removes (relative to it; task logs and the copy left out). */
  files: { added: string[]; changed: string[]; removed: string[] };
  records: RecordView[];
  copy: CopyResult | null;
  killed: string[];
  /** What validate-state still finds after the repair. */
  remaining: Problem[];
  warnings: string[];
  /** With git_commit in config.json: the commit of the state folder, or why there is none. */
  git_commit?: GitCommitInfo;
}

const DERIVED = /^(SNAPSHOT|CHECKPOINT|ARCHIVE|METRICS|INTERVENTIONS)_|^SCHEMA_INVALID_FILE$/;

/**
 * repair_state: shows its plan (dryRun), or takes a complete copy of the state folder and then
 * repairs it (DESIGN §9): a damaged log keeps every record that can be trusted (one flipped bit
 * corrected, damage confined to one record costing that record only, later records kept while they
 * chain and apply), the damaged stretch is set aside in a file beside it; stale locks are cleared;
 * every derived file is rebuilt from the log; tasks a dead scheduler left running are requeued
 * after their leftover processes are killed, its workers recorded shut down; workstreams a newer
 * hash-valid derived file holds are carried forward where the log lost them. One decision ending in
 * `state_repaired` lists every action. Refused while a scheduler runs (exit 4).
 *
 * The dry run is the plan by construction: it runs this same repair on a scratch copy of the folder
 * (outside it; removed after) and reports the actions, files and records of that run.
 */
export async function repairState(o: ActionOptions): Promise<RepairResult> {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  const clock = o.clock ?? Date.now;
  checkRoot(io, root, o.dryRun ? 'read' : 'write');
  const paths = new StatePaths(root);
  const cfg = readConfig(io, paths, o.config);
  const who = actor(o);
  const insp = inspectLog(io, paths, { operator: who.operator, nowMs: clock() });
  const sched = insp.state.scheduler();
  await refuseWhileScheduling(paths, cfg, sched, 'repair-state does not change a state that is in use');
  const alive = sched !== null && isAlive(sched.pid, sched.process_start);
  const locks = (await lockStates(io, paths, cfg)).map((l) => (l.name === 'scheduler.lock' && l.present && !alive ? { ...l, stale: true } : l));
  if (!o.dryRun) return repairIn(root, o, { insp, locks, alive, rehearsal: false });
  const scratch = makeScratch();
  try {
    const dir = path.join(scratch, path.basename(root));
    copyForRehearsal(io, paths, dir);
    // The rehearsal inspects its own copy (the same bytes) so that every step runs as it will.
    const sp = new StatePaths(dir);
    const sinsp = inspectLog(io, sp, { operator: who.operator, nowMs: clock() });
    const r = await repairIn(dir, { ...o, stateDir: dir, dryRun: false }, { insp: sinsp, locks, alive, rehearsal: true, realRoot: root });
    const message = r.changed ? `would repair: ${r.actions.length} action(s), after a complete copy of ${root}` : r.message;
    return { ...r, dry_run: true, message, copy: null, remaining: [] };
  } finally {
    removeScratch(scratch);
  }
}

interface RepairContext {
  insp: LogInspection;
  locks: LockState[];
  alive: boolean;
  /** A dry run's rehearsal on a scratch copy: no copy of it is taken, no process is killed, locks are not touched. */
  rehearsal: boolean;
  /** The state folder the rehearsal stands for (how paths are named in the actions). */
  realRoot?: string;
}

async function repairIn(root: string, o: ActionOptions, ctx: RepairContext): Promise<RepairResult> {
  const io = o.fs ?? realFs;
  const clock = o.clock ?? Date.now;
  const paths = new StatePaths(root);
  const cfg = readConfig(io, paths, o.config);
  const name = ctx.realRoot ?? root;
  const { insp } = ctx;
  const warnings: string[] = [];
  const stale = ctx.locks.filter((l) => l.stale);
  const derived = insp.damage ? [] : verifyState(io, paths).problems.filter((p) => DERIVED.test(p.code));
  const released = heldByIdle(io, paths);
  const orphans = orphanedTasks(insp.state).map((t) => `${t.workstream_id}/${t.id}`);
  const { sources: carry, unrecoverable } = carrySources(io, paths, insp);
  warnings.push(...unrecoverable);
  const sv = insp.salvage;
  const base = {
    log: {
      size: insp.size, good_seq: insp.goodSeq, good_offset: insp.goodOffset, damage: insp.damage, set_aside: insp.aside,
      set_aside_file: insp.asideName, salvage: sv?.lines ?? [], end_seq: sv ? sv.seq : insp.goodSeq,
    },
    stale_locks: stale, derived_problems: derived, released, orphaned_tasks: orphans, warnings,
  };
  const rebuild = insp.damage !== null || stale.length > 0 || derived.length > 0 || released.length > 0;
  const who = actor(o);
  const nothing = repairDecide(insp.state, { ...who, fileActions: rebuild || unrecoverable.length ? ['rebuild'] : [], carry }, clock()).length === 0;
  if (nothing) {
    return { ...base, dry_run: false, changed: false, message: 'nothing to repair: the log, the locks, the derived files and the tasks are in order', carried: [], actions: [], files: { added: [], changed: [], removed: [] }, records: [], copy: null, killed: [], remaining: [] };
  }

  const before = digestStateFiles(io, root);
  const done: string[] = [];
  let copy: CopyResult | null = null;
  if (ctx.rehearsal) {
    done.push(`copied ${name} to ${path.join(name, 'repair-copies', stampOf(clock()))}/ (every file but earlier copies)`);
  } else {
    copy = copyStateFolder(io, paths, clock());
    done.push(`copied ${name} to ${copy.dest}/ (every file but earlier copies)`);
  }
  if (!gitignored(io, paths)) {
    ignoreCopies(io, paths);
    done.push('added repair-copies/ to .gitignore (the copies stay out of git)');
  }
  for (const l of stale) {
    // A scheduler lock whose scheduler is dead is cleared at once; a lock taken meanwhile by a live
    // process is left alone (and said so). A rehearsal has no locks of its own to clear.
    const cleared = ctx.rehearsal || clearLock(l, cfg, l.name === 'scheduler.lock' && !ctx.alive ? insp.state.scheduler()?.pid : undefined);
    done.push(cleared ? `cleared the stale ${l.name} (no live process held it)` : `left the ${l.name} alone: a live process holds it now`);
  }
  if (insp.damage) {
    await setAsideLogTail(io, paths, cfg, insp);
    done.push(...logActions(insp));
  }
  for (const r of released) done.push(`released ${r} (current.json disagreed with the log)`);
  if (rebuild) done.push(...(await rebuildDerived(io, paths, cfg, clock())));
  done.push(...unrecoverable);

  const store = await Store.open(root, { fs: io, clock, config: o.config });
  const killed: string[] = [];
  let records: RecordView[] = [];
  try {
    for (const t of orphanedTasks(store.state)) {
      if (ctx.rehearsal) {
        if (t.pgid !== null && isAlive(t.pgid, t.process_start)) killed.push(`${t.workstream_id}/${t.id}`);
        continue;
      }
      const r = await killOrphanTask(t, store.config.kill_grace_ms);
      if (r === 'killed') killed.push(`${t.workstream_id}/${t.id}`);
      if (r === 'stuck') warnings.push(`task ${t.workstream_id}/${t.id}: process group ${t.pgid} did not die after SIGKILL`);
      if (r === 'reused') warnings.push(`task ${t.workstream_id}/${t.id}: pid ${t.pgid} belongs to another process now; left alone`);
    }
    if (killed.length) done.push(`killed the leftover processes of ${killed.join(', ')}`);
    records = await store.commit((s) => repairDecide(s, { ...who, fileActions: done, carry }, clock()));
  } finally {
    await store.close();
  }
  const after = digestStateFiles(io, root);
  const files = fileChanges(before, after);
  const remaining = verifyState(io, paths).problems;
  const actions = (records.at(-1)?.actions as string[] | undefined) ?? done;
  const carried = records.filter((r) => r.type === 'workstream_carried_forward').map((r) => `${String(r.workstream_id)} from ${String(r.source)}`);
  const git = ctx.rehearsal ? null : commitIntervention(store.config.git_commit, root, 'repair_state', records as unknown as LogRecord[], warnings);
  return {
    ...base, dry_run: false, changed: true, carried, ...(git ? { git_commit: git } : {}),
    message: `repaired ${root}: ${actions.length} action(s); a copy of the state before is in ${copy?.dest ?? '(none)'}`,
    actions, files, records, copy, killed, remaining,
  };
}

/** One line per thing done to the log: what was set aside, corrected, lost, dropped, and how it was rewritten. */
function logActions(insp: LogInspection): string[] {
  const d = insp.damage!;
  const sv = insp.salvage;
  if (insp.merge && sv) return mergeActions(insp, insp.merge, sv);
  const out = [`set aside bytes ${insp.goodOffset}-${insp.size} of transitions.jsonl (from seq ${d.seq}; ${d.kind}: ${d.reason}) in ${insp.asideName}`];
  if (!sv) {
    out.push(`cut transitions.jsonl back to seq ${insp.goodSeq}: seq ${d.seq} cannot be applied, so nothing after it is judged`);
    return out;
  }
  for (const l of sv.lines) {
    switch (l.kind) {
      case 'intact': break;
      case 'corrected': out.push(`seq ${l.seq}: ${l.note}`); break;
      case 'lost': out.push(`seq ${l.seq}: lost; a record_lost placeholder keeps its seq (${l.note})`); break;
      case 'unverified': out.push(`seq ${l.seq}: kept, ${l.note}`); break;
      case 'set_aside': if (l.note) out.push(`seq ${l.seq} and after: not kept (${l.note})`); break;
      default: { const never: never = l.kind; throw new Error(`internal: ${String(never)}`); }
    }
  }
  for (const x of sv.dropped) out.push(`dropped ${x.length} byte(s) of the damaged stretch: ${x.note}`);
  if (sv.cut && !sv.lines.some((l) => l.kind === 'set_aside')) out.push(`stopped at seq ${sv.cut.seq}: ${sv.cut.reason}`);
  out.push(sv.kept > 0
    ? `rewrote transitions.jsonl: records 1-${insp.goodSeq} unchanged, seq ${insp.goodSeq + 1}-${sv.seq} salvaged (${sv.kept} record(s), chained anew where a record before them changed)`
    : `cut transitions.jsonl back to seq ${insp.goodSeq}`);
  return out;
}

/** What repair does to a log git merged line by line: keeps ours, sets theirs aside, says how to bring theirs back. */
function mergeActions(insp: LogInspection, m: NonNullable<LogInspection['merge']>, sv: NonNullable<LogInspection['salvage']>): string[] {
  const list = (rs: typeof m.theirsRecords) => rs.map((r) => `${r.seq} ${r.type}${r.ids ? ` ${r.ids}` : ''}`).join(', ') || 'none';
  const submitted = [...new Set(m.theirsRecords.filter((r) => r.type === 'workstream_submitted').map((r) => r.ids))];
  return [
    `the log was merged line by line by git: both branches appended after seq ${m.commonSeq}; kept ours (the records first in the file, between <<<<<<< and =======)`,
    `set aside the other branch's ${m.theirsRecords.length} record(s) byte for byte in ${insp.asideName}: ${list(m.theirsRecords)}`,
    sv.cut ? `stopped keeping ours at seq ${sv.cut.seq}: ${sv.cut.reason}` : `kept our ${sv.kept} record(s) unchanged: ${list(m.oursRecords)}`,
    `rewrote transitions.jsonl: records 1-${m.commonSeq} shared, ${m.commonSeq + 1}-${sv.seq} ours`,
    `to bring the other branch's records back: ${submitted.length ? `submit ${submitted.map((w) => `workstream ${w}`).join(', ')} again (cairn submit <spec>), ` : ''}redo its interventions (operator and reason are in ${insp.asideName}), or undo this merge and merge again through the driver (cairn git-setup, then git merge)`,
  ];
}

function fileChanges(before: Map<string, string>, after: Map<string, string>): RepairResult['files'] {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [f, h] of after) {
    const was = before.get(f);
    if (was === undefined) added.push(f);
    else if (was !== h) changed.push(f);
  }
  for (const f of before.keys()) if (!after.has(f)) removed.push(f);
  return { added, changed, removed };
}

/** Resources held, by the state current.json gives, by tasks that are not running. */
function heldByIdle(io: typeof realFs, paths: StatePaths): string[] {
  try {
    const s = loadState(io, paths).state;
    const out: string[] = [];
    for (const r of s.resources.values()) {
      for (const k of Object.keys(r.holders)) {
        const [ws, id] = splitKey(k);
        const t = s.tasks.get(`${ws}/${id}`);
        if (!t || !ACTIVE_TASK_STATES.has(t.state)) out.push(`resource ${r.id} held by ${k}, which is ${t?.state ?? 'missing'}`);
      }
    }
    return out;
  } catch {
    return [];
  }
}
