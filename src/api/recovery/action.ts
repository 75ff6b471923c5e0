import { CairnError } from '../../errors.js';
import { apply } from '../../model/apply.js';
import { RECORD_TYPES, type RecordType, type Severity } from '../../model/catalogue.js';
import { diffStates, type Change } from '../../model/diff.js';
import { DraftState, type StateView } from '../../model/state.js';
import { ACTIVE_TASK_STATES } from '../../model/states.js';
import type { Draft, LogRecord, SchedulerInfo } from '../../model/types.js';
import type { ToolName } from '../../recovery/common.js';
import { killOrphanTask, liveScheduler } from '../../scheduler/liveness.js';
import type { Store } from '../../store/store.js';
import { type CommonOptions, operatorOf, withStore } from '../common.js';
import { commitIntervention, type GitCommitInfo } from '../git-commit.js';

/** Options of every recovery verb that changes the state. */
export interface ActionOptions extends CommonOptions {
  /** Show exactly the records and changes it would make; write nothing. */
  dryRun?: boolean;
}

/** A record as the tool shows it: committed (with its seq, id, ts) or, on a dry run, as it would be appended. */
export type RecordView = { seq: number; ts: string; type: RecordType; severity: Severity; operator: string | null; id?: string; crc?: string } & { [field: string]: unknown };

/** What a recovery verb did (or, with dryRun, would do). */
export interface ActionResult {
  action: ToolName;
  dry_run: boolean;
  /** False when there was nothing to do (the action was already done): no record was written. */
  changed: boolean;
  message: string;
  records: RecordView[];
  /** What differs between the state before and after. */
  changes: Change[];
  scheduler: { live: boolean; pid: number | null };
  /** Task process groups left by a dead scheduler that were killed before their task left running. */
  killed: string[];
  /** Commands to run next. */
  next: string[];
  warnings: string[];
  /** For requests to the scheduler: whether it carried them out while the tool waited. */
  scheduler_acted?: boolean;
  /** With git_commit in config.json: the commit of the state folder made after the records were durable, or why there is none. */
  git_commit?: GitCommitInfo;
}

/** How one verb plugs into the common flow. */
export interface ActionSpec {
  tool: ToolName;
  decide: (s: StateView, now: number, live: SchedulerInfo | null) => Draft[];
  /** The message when there is nothing to do (the state already is what was asked). */
  nothing: (s: StateView) => string;
  done: (s: StateView, records: readonly RecordView[]) => string;
  /** The action needs a live scheduler (restart_worker): exit 1 when none runs. */
  needsScheduler?: string;
  /** After the commit, with the store still open (waiting for the scheduler to act). */
  after?: (store: Store, records: LogRecord[], result: ActionResult) => Promise<void>;
}

/** The operator and reason every verb stamps on its records. */
export function actor(o: CommonOptions): { operator: string; reason?: string } {
  return { operator: operatorOf(o), ...(o.reason !== undefined ? { reason: o.reason } : {}) };
}

/** Applies decided drafts to a private copy of the state, giving each the seq it would get. */
export function preview(s: StateView, drafts: readonly Draft[], now: number): { after: DraftState; records: RecordView[] } {
  const after = new DraftState(s);
  const ts = new Date(now).toISOString();
  const records = drafts.map((d) => {
    const { type, severity, operator, ...rest } = d;
    const rec = { seq: after.seq + 1, id: '', ts, type, severity: severity ?? RECORD_TYPES[type].severity, operator: operator ?? null, ...rest, crc: '00000000' } as LogRecord;
    apply(after, rec);
    const { crc: _c, id: _i, ...view } = rec;
    return view as RecordView;
  });
  return { after, records };
}

/**
 * The flow every state-changing recovery verb follows: open the state, decide once to refuse an
 * unknown id or an illegal request before anything changes, show a dry run, or else kill the
 * processes a dead scheduler left for tasks that leave running, then decide again under the state
 * lock and append the records in one batch (store.commit).
 */
export async function runAction(o: ActionOptions, spec: ActionSpec): Promise<ActionResult> {
  const clock = o.clock ?? Date.now;
  let gitCommit: { enabled: boolean; root: string } | null = null;
  const out = await withStore(o, o.dryRun ? { readOnly: true } : {}, async (store) => {
    const live = await liveScheduler(store);
    const base = { action: spec.tool, dry_run: o.dryRun === true, scheduler: { live: live !== null, pid: live?.pid ?? null }, warnings: [...store.warnings] };
    const drafts = spec.decide(store.state, clock(), live);
    if (spec.needsScheduler && !live) {
      throw new CairnError('NO_SCHEDULER', spec.needsScheduler, { hint: 'Start the scheduler with: cairn run (then try again), or see: cairn check-worker' });
    }
    if (drafts.length === 0) return { ...base, changed: false, message: spec.nothing(store.state), records: [], changes: [], killed: [], next: [] };
    const { after, records } = preview(store.state, drafts, clock());
    const changes = diffStates(store.state, after).filter((c) => c.what !== 'state');
    if (o.dryRun) return { ...base, changed: true, message: `would ${spec.done(after, records)}`, records, changes, killed: [], next: [] };

    const killed: string[] = [];
    if (!live) {
      for (const id of store.state.workstreamIds()) {
        for (const tid of store.state.workstream(id)!.task_ids) {
          const t = store.state.task(id, tid)!;
          if (!ACTIVE_TASK_STATES.has(t.state) || ACTIVE_TASK_STATES.has(after.task(id, tid)!.state)) continue;
          const r = await killOrphanTask(t, store.config.kill_grace_ms);
          if (r === 'killed') killed.push(`${id}/${tid}`);
          if (r === 'stuck') base.warnings.push(`task ${id}/${tid}: process group ${t.pgid} did not die after SIGKILL`);
          if (r === 'reused') base.warnings.push(`task ${id}/${tid}: pid ${t.pgid} belongs to another process now; left alone`);
        }
      }
    }
    const committed = await store.commit((s) => spec.decide(s, clock(), live));
    const result: ActionResult = {
      ...base,
      changed: committed.length > 0,
      message: committed.length > 0 ? spec.done(store.state, committed) : spec.nothing(store.state),
      records: committed,
      changes: committed.length > 0 ? changes : [],
      killed,
      next: nextSteps(store.state, committed, live !== null),
    };
    await spec.after?.(store, committed, result);
    gitCommit = { enabled: store.config.git_commit, root: store.paths.root };
    return result;
  });
  // After the store closed: the commit holds the derived files written from these records too.
  const g = gitCommit as { enabled: boolean; root: string } | null;
  if (g && out.changed) {
    const info = commitIntervention(g.enabled, g.root, spec.tool, out.records as unknown as LogRecord[], out.warnings);
    if (info) out.git_commit = info;
  }
  return out;
}

/** With no scheduler, something must run what the action queued. */
function nextSteps(s: StateView, records: readonly LogRecord[], live: boolean): string[] {
  if (live) return [];
  const ws = new Set(records.map((r) => r.workstream_id).filter((x): x is string => typeof x === 'string'));
  for (const id of ws) if (s.workstream(id)?.state === 'running') return ['cairn run'];
  return [];
}
