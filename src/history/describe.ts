import type { RecordType } from '../model/catalogue.js';
import type { LogRecord } from '../model/types.js';

/** How an attempt ended, as the runner wrote it into the record (a TaskOutcome as plain JSON). */
export interface OutcomeFields {
  kind: string;
  exit_code: number | null;
  signal: string | null;
  message: string | null;
  duration_ms: number | null;
}

export function outcomeOf(r: LogRecord): OutcomeFields | null {
  const o = r.outcome as Partial<OutcomeFields> | undefined;
  if (!o || typeof o !== 'object') return null;
  return { kind: String(o.kind ?? 'unknown'), exit_code: o.exit_code ?? null, signal: o.signal ?? null, message: o.message ?? null, duration_ms: o.duration_ms ?? null };
}

/** `exit 1`, `timed out`, `killed by SIGKILL`, … */
export function outcomeText(o: OutcomeFields | null): string {
  if (!o) return 'ended';
  switch (o.kind) {
    case 'exit': return `exit ${String(o.exit_code)}`;
    case 'timeout': return 'timed out';
    // A Slurm job killed or lost outside cairn has no signal to name, only Slurm's word for it.
    case 'signal': return o.signal === null && o.message ? `killed: ${o.message}` : `killed by ${String(o.signal)}`;
    default: return o.message ? `${o.kind}: ${o.message}` : o.kind;
  }
}

/** The ref a record is about: `ws/task`, `ws`, a worker, a resource, or null (state-wide records). */
export function subjectOf(r: LogRecord): string | null {
  if (typeof r.workstream_id === 'string' && typeof r.task_id === 'string') return `${r.workstream_id}/${r.task_id}`;
  if (typeof r.workstream_id === 'string') return r.workstream_id;
  if (typeof r.worker_id === 'string') return `worker ${r.worker_id}`;
  if (typeof r.resource_id === 'string') return `resource ${r.resource_id}`;
  return null;
}

/** Every id a record names (task refs as `ws/task`), for --grep and the ids of a decision. */
export function idsOf(r: LogRecord): string[] {
  const out: string[] = [];
  if (typeof r.workstream_id === 'string') {
    out.push(r.workstream_id);
    if (typeof r.task_id === 'string') out.push(`${r.workstream_id}/${r.task_id}`);
  }
  for (const k of ['worker_id', 'resource_id'] as const) if (typeof r[k] === 'string') out.push(r[k] as string);
  return out;
}

const clock = (ts: unknown): string => (typeof ts === 'string' ? ts.slice(11, 23) : '?');

function backoff(r: LogRecord): string {
  const ms = Date.parse(String(r.retry_at)) - Date.parse(r.ts);
  return Number.isFinite(ms) ? ` (backoff ${ms} ms)` : '';
}

function took(r: LogRecord): string {
  const d = outcomeOf(r)?.duration_ms;
  return typeof d === 'number' ? ` after ${d} ms` : '';
}

/**
 * What one record says, as a short phrase without its subject ("exit 1 after 285 ms; retry 1 at
 * 10:00:01.200 (backoff 200 ms)"). Every record type has its phrase, so the switch is exhaustive.
 */
export function recordPhrase(r: LogRecord): string {
  const type: RecordType = r.type;
  switch (type) {
    case 'workstream_submitted': {
      const tasks = (r.spec as { tasks?: unknown[] } | undefined)?.tasks?.length ?? 0;
      return `submitted (${tasks} task${tasks === 1 ? '' : 's'})`;
    }
    case 'workstream_started': return 'started';
    case 'workstream_completed': return 'completed';
    case 'workstream_failed': return `failed${r.failure ? `: ${String(r.failure)}` : ''}`;
    case 'workstream_cancelled': return 'cancelled';
    case 'workstream_reopened': return `reopened (${String(r.from)} -> ${String(r.to)})`;
    case 'workstream_rolled_back': return `rolled back to checkpoint seq ${String(r.checkpoint_seq)}`;
    case 'workstream_resumed': return `resumed${r.from_task ? ` from ${String(r.from_task)}` : ''}${r.params ? ` with params ${JSON.stringify(r.params)}` : ''}`;
    case 'workstream_carried_forward': {
      const d = Array.isArray(r.differences) ? r.differences.length : 0;
      return `carried forward from ${String(r.source)} (seq ${String(r.source_seq)}; ${d} difference${d === 1 ? '' : 's'})`;
    }
    case 'task_queued': return `queued (${String(r.trigger ?? r.from)})`;
    case 'task_blocked': return `blocked by failed ${String(r.blocked_by)}`;
    case 'task_unblocked': return 'unblocked';
    case 'task_started': return `attempt ${String(r.attempt)} started on ${String(r.worker_id)}${r.job_id ? ` as ${String(r.executor)} job ${String(r.job_id)}` : ''}${r.deadline ? ` (deadline ${clock(r.deadline)})` : ''}`;
    case 'task_adopted': return `${String(r.executor)} job ${String(r.job_id)} of attempt ${String(r.attempt)} adopted by ${String(r.worker_id)} (its scheduler was lost; no new run)`;
    case 'task_validating': return `exit 0${took(r)}; validating`;
    case 'task_completed': return `completed${took(r)}`;
    case 'task_attempt_failed': return `attempt ${String(r.attempt)} failed: ${outcomeText(outcomeOf(r))}${took(r)}; retry ${String(r.retry_count)} at ${clock(r.retry_at)}${backoff(r)}`;
    case 'task_timed_out': return `attempt ${String(r.attempt)} timed out${took(r)}; retry ${String(r.retry_count)} at ${clock(r.retry_at)}${backoff(r)}`;
    case 'task_failed': return `failed: ${outcomeText(outcomeOf(r))}${took(r)}, no retries left`;
    case 'task_validation_failed': return `validation failed: ${outcomeText(outcomeOf(r))}`;
    case 'task_reassigned': return `requeued (${String(r.trigger ?? 'worker lost')}; no retry spent)`;
    case 'task_cancelled': return `cancelled (${String(r.trigger ?? 'operator')})`;
    case 'task_skipped': return `skipped (was ${String(r.from)})`;
    case 'task_retried': {
      const extra = (['timeout_seconds', 'max_retries', 'retry_count'] as const).filter((k) => r[k] !== undefined).map((k) => `${k} ${String(r[k])}`);
      return `retried (${String(r.from)} -> pending${extra.length ? `, ${extra.join(', ')}` : ''})`;
    }
    case 'task_reset': return `reset to ${String(r.to)} (was ${String(r.from)}${r.retry_count !== undefined ? `, retry_count ${String(r.retry_count)}` : ''})`;
    case 'task_dependency_removed': return `dependency on ${String(r.dependency_id)} removed`;
    case 'task_updated': return `definition changed (${Array.isArray(r.fields) ? (r.fields as unknown[]).map(String).join(', ') : '?'})`;
    case 'task_added': return 'added by submit --update (pending)';
    case 'workstream_updated': return `updated from a changed spec${Array.isArray(r.changed_tasks) ? ` (${r.changed_tasks.length} changed, ${Array.isArray(r.added_tasks) ? r.added_tasks.length : 0} added)` : ''}`;
    case 'workstream_reset': return `reset (${String(r.from)} -> pending; every task pending, retry counts 0)`;
    case 'resource_declared': return `declared (max_holders ${String(r.max_holders)})`;
    case 'resource_limit_changed': return `limit set to ${String(r.max_holders)}`;
    case 'resource_exhausted': return `waited ${String(r.waited_ms)} ms`;
    case 'worker_started': return 'started';
    case 'worker_unresponsive': return 'unresponsive';
    case 'worker_recovered': return 'recovered';
    case 'worker_shutdown': return `shut down (${String(r.trigger)})`;
    case 'worker_restart_requested': return 'restart requested';
    case 'worker_shutdown_requested': return 'shutdown requested';
    case 'scheduler_started': return `scheduler started (pid ${String(r.pid)})`;
    case 'scheduler_stopped': return `scheduler stopped (${String(r.trigger)})`;
    case 'checkpoint_named': return `checkpoint ${String(r.checkpoint_seq)} named ${String(r.name)}`;
    case 'system_checkpoint_created': return `system checkpoint ${String(r.name)} created at seq ${String(r.checkpoint_seq)}`;
    case 'system_checkpoint_restored': return `restored to system checkpoint ${String(r.name)} (seq ${String(r.checkpoint_seq)})`;
    case 'log_archived': return `log segments up to seq ${String(r.base_seq)} moved out to ${String(r.archived_to)} (${(r.segments as unknown[]).length} segment(s))`;
    case 'state_restored': return `state restored from ${String(r.source)} ${String(r.file ?? '')}`.trimEnd() + (r.changes !== undefined ? ` (${String(r.changes)} changes)` : '');
    case 'state_repaired': {
      const a = Array.isArray(r.actions) ? (r.actions as unknown[]).map(String) : [];
      return `state repaired: ${a[0] ?? ''}${a.length > 1 ? ` (+${a.length - 1} more)` : ''}`;
    }
    case 'record_lost': return `record lost: ${String(r.damage)}`;
    default: return unreachable(type);
  }
}

/** `retry-task by alice: "flaky"` for an operator's record, '' for an automatic one. */
export function operatorSuffix(r: LogRecord): string {
  if (!r.operator) return '';
  const tool = typeof r.action === 'string' ? `${r.action.replace(/_/g, '-')} ` : '';
  return ` [${tool}by ${r.operator}${r.reason ? `: "${r.reason}"` : ''}]`;
}

/** A record carried in from another branch by a merge names where it came from (`rebased_from`). */
export function rebasedSuffix(r: LogRecord): string {
  return r.rebased_from === undefined ? '' : ` (rebased from ${JSON.stringify(r.rebased_from)})`;
}

function unreachable(x: never): never {
  throw new Error(`no phrase for record type ${String(x)}`);
}
