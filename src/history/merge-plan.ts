import { CairnError } from '../errors.js';
import { decide as decideCommand } from '../model/decide.js';
import type { StateView } from '../model/state.js';
import type { Draft, LogRecord, TaskDef, WorkstreamSpec } from '../model/types.js';
import { decide as cancelTask } from '../recovery/cancel-task.js';
import { decide as removeDependency } from '../recovery/remove-dependency.js';
import { decide as retryFailedTasks } from '../recovery/retry-failed-tasks.js';
import { decide as retryTask } from '../recovery/retry-task.js';
import { decide as retryWorkstream } from '../recovery/retry-workstream.js';
import { decide as setResourceLimit } from '../recovery/set-resource-limit.js';
import { decide as skipTask } from '../recovery/skip-task.js';
import { decide as updateTask, type TaskChanges } from '../recovery/update-task.js';

/**
 * The merge driver's plan (DESIGN §10), pure: which of the other branch's decisions are put on top
 * of ours, and how each is decided again. Records are never copied: a workstream submission or an
 * operator's intervention is turned back into the request that made it, and that request goes
 * through the same decide as the command, on our state, giving new records that name where they
 * came from (`rebased_from`). Records a run made (task_started, task_completed, …) belong to a
 * scheduler on the other branch and cannot be decided again here: they make the merge a conflict.
 */

/** Where a re-decided record came from: the first record of the original decision. */
export interface RebasedFrom {
  id: string;
  seq: number;
}

/** One decision of the other branch (one record, or the records a `batch` count groups). */
export interface TheirDecision {
  records: LogRecord[];
  /** The ids this decision stands for: its own, or (for records already rebased once) the originals. */
  origins: string[];
}

export type PlanStep =
  | { kind: 'redecide'; from: RebasedFrom; what: string; decide: (s: StateView, now: number) => Draft[]; records: LogRecord[] }
  | { kind: 'already'; from: RebasedFrom; what: string; why: string; records: LogRecord[] }
  | { kind: 'conflict'; from: RebasedFrom; what: string; why: string; records: LogRecord[] };

/** Groups records (in log order) into decisions by their `batch` counts. */
export function decisionsOf(records: readonly LogRecord[]): TheirDecision[] {
  const out: TheirDecision[] = [];
  for (let i = 0; i < records.length;) {
    const n = typeof records[i]!.batch === 'number' ? (records[i]!.batch as number) : 1;
    const recs = records.slice(i, i + Math.max(1, n));
    out.push({ records: recs, origins: recs.map(originOf) });
    i += recs.length;
  }
  return out;
}

/** The id a record stands for: the record it was rebased from, or itself. */
export function originOf(r: LogRecord): string {
  const from = r.rebased_from as RebasedFrom | undefined;
  return from && typeof from.id === 'string' ? from.id : r.id;
}

/**
 * The plan for the other branch's decisions, given every id (and origin) our branch holds: a
 * decision ours already has is skipped, so merging either way, or twice, converges.
 */
export function planMerge(theirs: readonly TheirDecision[], ours: ReadonlySet<string>): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const d of theirs) {
    const first = d.records[0]!;
    const from: RebasedFrom = { id: originOf(first), seq: first.seq };
    const what = describe(d.records);
    if (d.origins.some((id) => ours.has(id))) {
      steps.push({ kind: 'already', from, what, why: 'ours already has it', records: d.records });
      continue;
    }
    // restore-state or a repair that only rebuilt files: about the other branch's own derived
    // files, no change of the state (apply does nothing with them), so nothing to decide on ours.
    if (d.records.every((r) => r.type === 'state_restored' || r.type === 'state_repaired')) {
      steps.push({ kind: 'already', from, what, why: 'it rebuilt the other branch\'s own files and changes no state', records: d.records });
      continue;
    }
    const req = requestOf(d.records);
    if (typeof req === 'string') steps.push({ kind: 'conflict', from, what, why: req, records: d.records });
    else steps.push({ kind: 'redecide', from, what, decide: req, records: d.records });
  }
  return steps;
}

type Decider = (s: StateView, now: number) => Draft[];

/** The request that made a decision, as a decide function; or why it cannot be decided again. */
function requestOf(records: readonly LogRecord[]): Decider | string {
  const sub = records.find((r) => r.type === 'workstream_submitted');
  if (sub) {
    const spec = sub.spec as WorkstreamSpec;
    return (s, now) => decideCommand(s, { kind: 'submit', spec, operator: sub.operator }, { now });
  }
  const first = records[0]!;
  if (first.operator === null || typeof first.action !== 'string') {
    return `${first.type} was decided by cairn itself (a run or a scheduler on the other branch), not by a command: it cannot be decided again on ours`;
  }
  const who = { operator: first.operator, ...(typeof first.reason === 'string' ? { reason: first.reason } : {}) };
  const find = (type: string, pred: (r: LogRecord) => boolean = () => true) => records.find((r) => r.type === type && pred(r));
  const str = (r: LogRecord | undefined, k: string) => (r && typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const action = first.action;
  switch (action) {
    case 'skip_task': {
      const r = find('task_skipped');
      if (!r) break;
      return (s, now) => skipTask(s, { ...who, task: str(r, 'task_id')!, workstreamId: str(r, 'workstream_id') }, now);
    }
    case 'cancel_task': {
      const r = find('task_cancelled', (x) => x.trigger === 'operator');
      if (!r) break;
      const cascade = records.some((x) => x.type === 'task_cancelled' && x.trigger === 'cascade');
      return (s, now) => cancelTask(s, { ...who, task: str(r, 'task_id')!, workstreamId: str(r, 'workstream_id'), cascade }, now);
    }
    case 'retry_task': {
      const r = find('task_retried', (x) => x.recovery === 'retry_task');
      if (!r) break;
      const timeoutSeconds = typeof r.timeout_seconds === 'number' ? r.timeout_seconds : undefined;
      const maxRetries = typeof r.max_retries === 'number' ? r.max_retries : undefined;
      return (s, now) => retryTask(s, { ...who, task: str(r, 'task_id')!, workstreamId: str(r, 'workstream_id'), timeoutSeconds, maxRetries, resetRetries: r.retry_count === 0 }, now);
    }
    case 'retry_workstream': {
      const ws = str(records.find((x) => typeof x.workstream_id === 'string'), 'workstream_id');
      if (!ws) break;
      return (s, now) => retryWorkstream(s, { ...who, workstream: ws }, now);
    }
    case 'retry_failed_tasks': {
      const ws = str(records.find((x) => typeof x.workstream_id === 'string'), 'workstream_id');
      if (!ws) break;
      const resetRetries = records.some((x) => x.type === 'task_retried' && x.retry_count === 0);
      return (s, now) => retryFailedTasks(s, { ...who, workstream: ws, resetRetries }, now);
    }
    case 'set_resource_limit': {
      const r = find('resource_limit_changed');
      if (!r) break;
      return (s, now) => setResourceLimit(s, { ...who, resource: str(r, 'resource_id')!, maxHolders: r.max_holders as number | null }, now);
    }
    case 'remove_dependency': {
      const r = find('task_dependency_removed');
      if (!r) break;
      return (s, now) => removeDependency(s, { ...who, from: str(r, 'task_id')!, to: str(r, 'dependency_id')!, workstreamId: str(r, 'workstream_id') }, now);
    }
    case 'update_task': {
      // The fields the other branch changed, set to what it set them to; the rest of our task stays.
      const r = find('task_updated');
      if (!r) break;
      const next = r.new as TaskDef;
      const fields = new Set(r.fields as string[]);
      const changes: TaskChanges = {
        ...(fields.has('command') ? { command: next.command } : {}),
        ...(fields.has('validate') ? { validate: next.validate } : {}),
        ...(fields.has('timeout_seconds') && next.timeout_seconds !== null ? { timeoutSeconds: next.timeout_seconds } : {}),
        ...(fields.has('max_retries') ? { maxRetries: next.max_retries } : {}),
        ...(fields.has('env') ? { env: next.env } : {}),
        ...(fields.has('cwd') ? { cwd: next.cwd } : {}),
        ...(fields.has('resources') ? { resources: Object.keys(next.resources) } : {}),
      };
      return (s, now) => updateTask(s, { ...who, ...changes, task: str(r, 'task_id')!, workstreamId: str(r, 'workstream_id') }, now);
    }
    default:
      // rollback_workstream names a checkpoint of the other branch; worker requests, resume and
      // repair act on that branch's processes and files: an operator redoes them on the merged state.
      return `${action} by ${first.operator} acts on the other branch's own checkpoints, workers or files: it is not decided again automatically; redo it by hand after the merge`;
  }
  throw new CairnError('INTERNAL', `a ${action} decision without the record it makes (seq ${first.seq})`);
}

/** A decision in one line: its first seq, type, ids, and operator. */
export function describe(records: readonly LogRecord[]): string {
  const r = records.find((x) => x.type === 'workstream_submitted') ?? records.find((x) => x.operator !== null && typeof x.action === 'string' && x.type !== 'workstream_reopened') ?? records[0]!;
  const ids = typeof r.workstream_id === 'string' && typeof r.task_id === 'string' ? `${r.workstream_id}/${r.task_id}` : (r.workstream_id ?? r.worker_id ?? r.resource_id ?? '') as string;
  const by = r.operator !== null ? ` by ${r.operator}${typeof r.action === 'string' ? ` (${r.action})` : ''}` : '';
  return `seq ${records[0]!.seq}${records.length > 1 ? `-${records.at(-1)!.seq}` : ''} ${r.type}${ids ? ` ${ids}` : ''}${by}`;
}
