import { ACTIVE_TASK_STATES } from '../../model/states.js';
import { splitKey } from '../../model/types.js';
import { decide as repairDecide, orphanedTasks } from '../../recovery/repair-state.js';
import { isAlive } from '../../runner/kill.js';
import { killOrphanTask } from '../../scheduler/liveness.js';
import { readConfig } from '../../store/config.js';
import { copyStateFolder, type CopyResult } from '../../store/copy.js';
import { realFs } from '../../store/fsio.js';
import { loadState } from '../../store/load.js';
import { StatePaths } from '../../store/paths.js';
import { clearLock, inspectLog, lockStates, rebuildDerived, setAsideLogTail, type AsideLine, type LockState, type LogDamage } from '../../store/repair.js';
import { checkRoot, Store } from '../../store/store.js';
import { verifyState, type Problem } from '../../store/verify.js';
import { stateDirOf } from '../common.js';
import { refuseWhileScheduling } from '../scheduler-guard.js';
import { actor, type ActionOptions, preview, type RecordView } from './action.js';

export interface RepairResult {
  dry_run: boolean;
  changed: boolean;
  message: string;
  log: { size: number; good_seq: number; good_offset: number; damage: LogDamage | null; set_aside: { bytes: number; lines: AsideLine[] } | null; set_aside_file: string | null };
  stale_locks: LockState[];
  /** Derived files that do not match the log (validate-state's codes). */
  derived_problems: Problem[];
  /** Resources current.json says are held by tasks that are not running. */
  released: string[];
  orphaned_tasks: string[];
  /** Every action, in the order taken (or planned); the same lines as the state_repaired record. */
  actions: string[];
  records: RecordView[];
  copy: CopyResult | null;
  killed: string[];
  /** What validate-state still finds after the repair. */
  remaining: Problem[];
  warnings: string[];
}

const DERIVED = /^(SNAPSHOT|CHECKPOINT|ARCHIVE|METRICS|INTERVENTIONS)_|^SCHEMA_INVALID_FILE$/;

/**
 * repair_state: shows its plan (dryRun), or takes a complete copy of the state folder and then
 * repairs it: a torn or corrupt log keeps its valid part and the rest is set aside in a file beside
 * it; stale locks are cleared; every derived file is rebuilt from the log (which also releases
 * resources current.json says are held by tasks that are not running); tasks a dead scheduler left
 * running are requeued after their leftover processes are killed, its workers recorded shut down.
 * One `state_repaired` record lists every action. Refused while a scheduler runs (exit 4).
 */
export async function repairState(o: ActionOptions): Promise<RepairResult> {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  const clock = o.clock ?? Date.now;
  checkRoot(io, root, o.dryRun ? 'read' : 'write');
  const paths = new StatePaths(root);
  const cfg = readConfig(io, paths, o.config);
  const insp = inspectLog(io, paths);
  const warnings: string[] = [];

  const sched = insp.state.scheduler();
  await refuseWhileScheduling(paths, cfg, sched, 'repair-state does not change a state that is in use');
  const alive = sched !== null && isAlive(sched.pid, sched.process_start);
  const locks = (await lockStates(io, paths, cfg)).map((l) => (l.name === 'scheduler.lock' && l.present && !alive ? { ...l, stale: true } : l));
  const stale = locks.filter((l) => l.stale);
  const derived = insp.damage ? [] : verifyState(io, paths).problems.filter((p) => DERIVED.test(p.code));
  const released = heldByIdle(io, paths);
  const orphans = orphanedTasks(insp.state).map((t) => `${t.workstream_id}/${t.id}`);

  const plan: string[] = [];
  if (insp.damage) {
    const d = insp.damage;
    const intact = insp.aside?.lines.filter((l) => l.intact).length ?? 0;
    plan.push(`keep records 1-${insp.goodSeq} of the log; set aside ${insp.aside?.bytes ?? 0} bytes from seq ${d.seq} (${d.kind}: ${d.reason}; ${insp.aside?.lines.length ?? 0} line(s), ${intact} readable) in transitions.jsonl.${d.kind === 'torn' || d.kind === 'incomplete' ? 'torn' : 'corrupt'}-<time>`);
  }
  for (const l of stale) plan.push(`clear the stale ${l.name} (no live process holds it)`);
  for (const r of released) plan.push(`release ${r} (current.json disagrees with the log; rebuilt from it)`);
  const rebuild = insp.damage !== null || stale.length > 0 || derived.length > 0 || released.length > 0;
  if (rebuild) plan.push(`rebuild every derived file from the log${derived.length ? ` (${[...new Set(derived.map((p) => p.code))].join(', ')})` : ''}`);
  const who = actor(o);
  const drafts = repairDecide(insp.state, { ...who, fileActions: plan }, clock());
  const base = {
    log: { size: insp.size, good_seq: insp.goodSeq, good_offset: insp.goodOffset, damage: insp.damage, set_aside: insp.aside, set_aside_file: null as string | null },
    stale_locks: stale, derived_problems: derived, released, orphaned_tasks: orphans, warnings,
  };
  if (drafts.length === 0) {
    return { ...base, dry_run: o.dryRun === true, changed: false, message: 'nothing to repair: the log, the locks, the derived files and the tasks are in order', actions: [], records: [], copy: null, killed: [], remaining: [] };
  }
  const planned = (drafts.at(-1)!.actions as string[]) ?? plan;
  if (o.dryRun) {
    return { ...base, dry_run: true, changed: true, message: `would repair: ${planned.length} action(s), after a complete copy of ${root}`, actions: planned, records: preview(insp.state, drafts, clock()).records, copy: null, killed: [], remaining: [] };
  }

  const copy = copyStateFolder(io, paths, clock());
  const done: string[] = [`copied ${root} to ${copy.dest} (${copy.files} files, ${copy.bytes} bytes${copy.skipped.length ? `; left out ${copy.skipped.join(', ')}` : ''})`];
  for (const l of stale) {
    // A scheduler lock whose scheduler is dead is cleared at once; a lock taken meanwhile by a live
    // process is left alone (and said so).
    const cleared = clearLock(l, cfg, l.name === 'scheduler.lock' && !alive ? sched?.pid : undefined);
    done.push(cleared ? `cleared the stale ${l.name}` : `left the ${l.name} alone: a live process holds it now`);
  }
  if (insp.damage) {
    const file = await setAsideLogTail(io, paths, cfg, insp, clock());
    base.log.set_aside_file = file;
    done.push(`kept records 1-${insp.goodSeq} of the log; set aside ${insp.aside?.bytes ?? 0} bytes from seq ${insp.damage.seq} (${insp.damage.kind}: ${insp.damage.reason}) in ${file}`);
  }
  for (const r of released) done.push(`released ${r}`);
  if (rebuild) done.push(...(await rebuildDerived(io, paths, cfg, clock())));

  const store = await Store.open(root, { fs: io, clock, config: o.config });
  const killed: string[] = [];
  let records: RecordView[] = [];
  try {
    for (const t of orphanedTasks(store.state)) {
      const r = await killOrphanTask(t, store.config.kill_grace_ms);
      if (r === 'killed') killed.push(`${t.workstream_id}/${t.id}`);
      if (r === 'stuck') warnings.push(`task ${t.workstream_id}/${t.id}: process group ${t.pgid} did not die after SIGKILL`);
      if (r === 'reused') warnings.push(`task ${t.workstream_id}/${t.id}: pid ${t.pgid} belongs to another process now; left alone`);
    }
    if (killed.length) done.push(`killed the leftover processes of ${killed.join(', ')}`);
    records = await store.commit((s) => repairDecide(s, { ...who, fileActions: done }, clock()));
  } finally {
    await store.close();
  }
  const remaining = verifyState(io, paths).problems;
  const actions = (records.at(-1)?.actions as string[] | undefined) ?? done;
  return { ...base, dry_run: false, changed: true, message: `repaired ${root}: ${actions.length} action(s); a copy of the state before is in ${copy.dest}`, actions, records, copy, killed, remaining };
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
