import type { LogRecord } from '../model/types.js';
import { idsOf, recordPhrase, subjectOf } from './describe.js';

/** One decision of the log (a batch of records decided together), as `cairn log` prints it. */
export interface DecisionLine {
  first_seq: number;
  last_seq: number;
  ts: string;
  /** The operator who decided it; null for an automatic decision (the scheduler's). */
  operator: string | null;
  /** The tool an operator ran (retry_task, skip_task, …), null for automatic decisions. */
  action: string | null;
  reason: string | null;
  /** The record types, in log order, each once. */
  types: string[];
  summary: string;
  /** Every id the records name: workstreams, tasks as `ws/task`, workers, resources; each once. */
  ids: string[];
}

/** What `cairn log` keeps (points are applied by the caller as seq bounds). */
export interface DecisionFilter {
  /** Only decisions by this operator (named apart from CommonOptions.operator, who acts). */
  byOperator?: string;
  /** Plain text, matched case-insensitively against the summary, the reason, the action and the ids. */
  grep?: string;
  /** Only interventions: decisions made with an operator's tool (they carry an action). */
  interventions?: boolean;
}

/**
 * The record that names what an operator's tool acted on, so the summary reads "retry-task w/a"
 * rather than the workstream reopened first. A tool not listed is summed up by its first record.
 */
const MAIN_TYPE: Record<string, string> = {
  retry_task: 'task_retried',
  skip_task: 'task_skipped',
  cancel_task: 'task_cancelled',
  retry_workstream: 'workstream_reopened',
  retry_failed_tasks: 'workstream_reopened',
  resume_workstream: 'workstream_resumed',
  rollback_workstream: 'workstream_rolled_back',
  restart_worker: 'worker_restart_requested',
  force_shutdown_worker: 'worker_shutdown_requested',
  set_resource_limit: 'resource_limit_changed',
  remove_dependency: 'task_dependency_removed',
  repair_state: 'state_repaired',
  log_archive: 'log_archived',
  checkpoint: 'checkpoint_named',
  system_checkpoint_create: 'system_checkpoint_created',
  system_checkpoint_restore: 'system_checkpoint_restored',
};

/** Sums up one decision: what was decided, by whom, on which ids. `records` is the whole batch, in order. */
export function summarize(records: readonly LogRecord[]): DecisionLine {
  const head = records[0]!;
  const by = records.find((r) => r.operator) ?? null;
  const ids = new Set<string>();
  const types = new Set<string>();
  for (const r of records) {
    types.add(r.type);
    for (const id of idsOf(r)) ids.add(id);
  }
  const action = by && typeof by.action === 'string' ? by.action : null;
  return {
    first_seq: head.seq,
    last_seq: records[records.length - 1]!.seq,
    ts: head.ts,
    operator: by?.operator ?? null,
    action,
    reason: by?.reason ?? null,
    types: [...types],
    summary: by ? operatorSummary(records, by, action) : automaticSummary(records),
    ids: [...ids],
  };
}

function operatorSummary(records: readonly LogRecord[], by: LogRecord, action: string | null): string {
  const main = (action && records.find((r) => r.type === MAIN_TYPE[action])) || by;
  const tool = action ? action.replace(/_/g, '-') : main.type;
  const target = subjectOf(main);
  const more = records.length > 1 ? ` (${records.length} records)` : '';
  return `${tool}${target ? ` ${target}` : ''} by ${String(by.operator)}${by.reason ? `: ${by.reason}` : ''}${more}`;
}

/** Most phrases of an automatic decision, grouped: "w/a, w/b queued (dependencies_met), w/c started on w1". */
function automaticSummary(records: readonly LogRecord[]): string {
  const groups = new Map<string, string[]>();
  for (const r of records) {
    const phrase = recordPhrase(r);
    const subjects = groups.get(phrase) ?? [];
    const s = subjectOf(r);
    if (s !== null) subjects.push(s);
    groups.set(phrase, subjects);
  }
  const parts = [...groups].map(([phrase, subjects]) => {
    if (subjects.length === 0) return phrase;
    const who = subjects.length <= 3 ? subjects.join(', ') : `${subjects.slice(0, 2).join(', ')} and ${subjects.length - 2} more`;
    return `${who} ${phrase}`;
  });
  return parts.length <= 4 ? parts.join(', ') : `${parts.slice(0, 3).join(', ')} and ${parts.length - 3} more changes`;
}

/** Whether a decision passes the filter (the seq bounds of --since/--until are the caller's). */
export function keeps(d: DecisionLine, f: DecisionFilter): boolean {
  // An operator's tool (interventions.log's lines): a submission names its operator but is no intervention.
  if (f.interventions && d.action === null) return false;
  if (f.byOperator !== undefined && d.operator !== f.byOperator) return false;
  if (f.grep !== undefined && f.grep !== '') {
    const want = f.grep.toLowerCase();
    const hay = [d.summary, d.reason ?? '', d.action ?? '', ...d.ids];
    if (!hay.some((h) => h.toLowerCase().includes(want))) return false;
  }
  return true;
}
