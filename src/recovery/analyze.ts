import { resolveWorkstream } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import type { LogRecord, Task, TaskOutcome } from '../model/types.js';
import { key, tasksOf } from './common.js';

/**
 * analyze_workstream_failure, pure: from the state, the workstream's records and the tail of each
 * attempt's log, what failed and how, and a recovery plan that follows the decision trees of the
 * recovery procedures (task tree: transient → more time or retries; code → fix and retry;
 * dependency → fix the dependency; definition → fix the definition; workstream tree: all failed →
 * systemic (workers, resources, configuration); a critical task failed → fix it, retry the
 * workstream; only non-critical ones → retry the failed tasks).
 */

export type FailureKind = TaskOutcome['kind'] | 'blocked' | 'unknown';
export type Category = 'transient' | 'code' | 'dependency' | 'definition' | 'worker';

export interface AttemptView {
  attempt: number;
  started_at: string | null;
  ended_at: string | null;
  worker_id: string | null;
  /** The record that ended it: task_attempt_failed, task_timed_out, task_failed, task_reassigned, … */
  ended_by: string | null;
  outcome: TaskOutcome | null;
  log_path: string | null;
  log_tail: string[];
  /** A Slurm attempt's job (task_started, or the task_adopted that took it over). */
  job_id?: string;
  /** That job as Slurm lists it now (filled in by the API, which may ask squeue; analyze itself is pure). */
  slurm?: { job_id: string; state: string | null; reason: string | null; node: string | null; note: string | null };
}

export interface TaskDiagnosis {
  task: string;
  state: string;
  critical: boolean;
  kind: FailureKind;
  exit_code: number | null;
  signal: string | null;
  message: string | null;
  blocked_by: string | null;
  /** The failed task at the root of a chain of blocked tasks. */
  root_cause: string | null;
  retry_count: number;
  max_retries: number;
  timeout_seconds: number | null;
  category: Category;
  advice: string;
  commands: string[];
  attempts: AttemptView[];
}

export interface PlanStep {
  step: string;
  commands: string[];
}

export interface FailureReport {
  workstream_id: string;
  state: string;
  failure: { reason: string; task_id: string | null } | null;
  counts: Record<string, number>;
  total: number;
  diagnosis: 'no_failure' | 'systemic' | 'critical_task_failed' | 'non_critical_tasks_failed';
  systemic_causes: string[];
  tasks: TaskDiagnosis[];
  cancelled_by_critical_failure: string[];
  plan: PlanStep[];
}

export interface AnalyzeInput {
  workstream: string;
  /** Records of the workstream, plus worker_unresponsive/worker_shutdown and resource_exhausted ones. */
  records: readonly LogRecord[];
  /** Tail of each attempt's log, by task key. */
  logs: ReadonlyMap<string, { attempt: number; path: string; tail: string[] }[]>;
  schedulerLive: boolean;
}

const ENDS = new Set(['task_completed', 'task_attempt_failed', 'task_timed_out', 'task_failed', 'task_validation_failed', 'task_reassigned', 'task_cancelled', 'task_skipped']);

/** Every attempt of a task from its records, with its log tail. */
export function attemptsOf(t: Task, records: readonly LogRecord[], logs: { attempt: number; path: string; tail: string[] }[]): AttemptView[] {
  const out: AttemptView[] = [];
  let open: AttemptView | null = null;
  for (const r of records) {
    if (r.task_id !== t.id || r.workstream_id !== t.workstream_id) continue;
    if (r.type === 'task_started') {
      open = { attempt: Number(r.attempt), started_at: r.ts, ended_at: null, worker_id: (r.worker_id as string) ?? null, ended_by: null, outcome: null, log_path: null, log_tail: [] };
      if (typeof r.job_id === 'string') open.job_id = r.job_id;
      out.push(open);
    } else if (open && r.type === 'task_adopted') {
      open.worker_id = (r.worker_id as string) ?? open.worker_id;
    } else if (open && ENDS.has(r.type) && (r.attempt === undefined || r.attempt === open.attempt) && r.from !== undefined && (r.from === 'running' || r.from === 'validating')) {
      open.ended_at = r.ts;
      open.ended_by = r.type;
      open.outcome = (r.outcome as TaskOutcome | undefined) ?? null;
      open = null;
    }
  }
  for (const a of out) {
    const l = logs.find((x) => x.attempt === a.attempt);
    if (l) {
      a.log_path = l.path;
      a.log_tail = l.tail;
    }
  }
  return out;
}

function rootCause(s: StateView, t: Task): string | null {
  let cur: Task | undefined = t;
  const seen = new Set<string>();
  while (cur && cur.state === 'blocked' && cur.blocked_by && !seen.has(cur.id)) {
    seen.add(cur.id);
    cur = s.task(t.workstream_id, cur.blocked_by);
  }
  return cur && cur !== t ? cur.id : null;
}

/** The task decision tree: what kind of failure this is and what to run. */
function classify(s: StateView, t: Task, kind: FailureKind, lastWorker: string | null): Pick<TaskDiagnosis, 'category' | 'advice' | 'commands'> {
  const k = key(t);
  const show = `cairn show-task --task-id ${k} --include-logs`;
  const more = t.retry_count >= t.max_retries ? ' --reset-retries' : '';
  switch (kind) {
    case 'timeout': {
      const next = t.timeout_seconds !== null ? Math.ceil(t.timeout_seconds * 2) : 600;
      return { category: 'transient', advice: `timed out after ${t.timeout_seconds ?? '?'} s: if it is just slow, give it more time and retry`, commands: [show, `cairn retry-task --task-id ${k} --timeout ${next}${more}`] };
    }
    case 'signal':
      return { category: 'transient', advice: 'killed by a signal (out of memory, or killed from outside): check the logs, then retry', commands: [show, `cairn retry-task --task-id ${k}${more}`] };
    case 'worker_lost':
      return {
        category: 'worker',
        advice: 'its worker was lost: investigate the worker, then retry',
        commands: [...(lastWorker ? [`cairn check-worker --worker-id ${lastWorker}`, `cairn show-worker-logs --worker-id ${lastWorker}`] : ['cairn status']), `cairn retry-task --task-id ${k}${more}`],
      };
    case 'validation':
      return { category: 'code', advice: 'the command succeeded but its validate command failed: fix what it checks, then retry', commands: [show, `cairn debug-task --task-id ${k} --validate`, `cairn retry-task --task-id ${k}`] };
    case 'exit':
      return { category: 'code', advice: 'the command failed: read its log, reproduce it, fix the code or its input, then retry', commands: [show, `cairn debug-task --task-id ${k}`, `cairn retry-task --task-id ${k}${more}`] };
    case 'spawn_error':
      return {
        category: 'definition',
        advice: 'the command could not be started (missing program or cwd): fix the task definition or its environment, then retry (or skip it if it is not needed)',
        commands: [show, `cairn debug-task --task-id ${k}`, `cairn retry-task --task-id ${k}`, `cairn skip-task --task-id ${k} --reason "<why it is not needed>"`],
      };
    case 'blocked': {
      const root = rootCause(s, t);
      return { category: 'dependency', advice: `blocked by failed dependency ${root ?? t.blocked_by ?? '?'}: fix and retry that one, this task follows by itself`, commands: root ? [`cairn show-dependencies --task-id ${k}`, `cairn retry-task --task-id ${t.workstream_id}/${root}`] : [`cairn show-dependencies --task-id ${k}`] };
    }
    case 'cancelled':
    case 'unknown':
      return { category: 'code', advice: 'no outcome recorded: read the task and its log', commands: [show, `cairn retry-task --task-id ${k}`] };
  }
}

function diagnose(s: StateView, t: Task, input: AnalyzeInput): TaskDiagnosis {
  const attempts = attemptsOf(t, input.records, input.logs.get(key(t)) ?? []);
  const o = t.last_outcome;
  const kind: FailureKind = t.state === 'blocked' ? 'blocked' : o?.kind ?? 'unknown';
  const lastWorker = attempts.at(-1)?.worker_id ?? t.worker_id;
  return {
    task: key(t), state: t.state, critical: t.critical, kind,
    exit_code: o?.exit_code ?? null, signal: o?.signal ?? null, message: o?.message ?? null,
    blocked_by: t.blocked_by, root_cause: t.state === 'blocked' ? rootCause(s, t) : null,
    retry_count: t.retry_count, max_retries: t.max_retries, timeout_seconds: t.timeout_seconds,
    ...classify(s, t, kind, lastWorker),
    attempts,
  };
}

export function analyze(s: StateView, input: AnalyzeInput): FailureReport {
  const ws = resolveWorkstream(s, input.workstream);
  const all = tasksOf(s, ws);
  const failed = all.filter((t) => t.state === 'failed');
  const blocked = all.filter((t) => t.state === 'blocked');
  const cancelled = all.filter((t) => t.state === 'cancelled' && t.cancel_trigger === 'critical_failure').map(key);
  const tasks = [...failed, ...blocked].map((t) => diagnose(s, t, input));
  const base = { workstream_id: ws.id, state: ws.state, failure: ws.failure, counts: { ...ws.counts }, total: all.length, tasks, cancelled_by_critical_failure: cancelled };
  const tail = input.schedulerLive ? [] : [{ step: 'No scheduler runs: start one so the retried tasks run', commands: ['cairn run'] }];
  if (failed.length === 0 && blocked.length === 0) {
    return { ...base, diagnosis: 'no_failure', systemic_causes: [], plan: [{ step: `nothing failed in ${ws.id} (${ws.state})`, commands: [`cairn status --workstream-id ${ws.id}`] }] };
  }
  const attempted = all.filter((t) => t.attempt > 0);
  const systemic = failed.length >= 2 && attempted.every((t) => t.state === 'failed');
  if (systemic) {
    const causes = systemicCauses(input.records, failed);
    const cmds = new Set<string>();
    for (const c of causes) for (const x of c.commands) cmds.add(x);
    return {
      ...base, diagnosis: 'systemic', systemic_causes: causes.map((c) => c.cause),
      plan: [
        { step: 'Every task that ran failed: look for a systemic cause before retrying anything', commands: [...cmds] },
        { step: 'Fix the cause, then retry the entire workstream', commands: [`cairn retry-workstream --workstream-id ${ws.id}`] },
        ...tail,
      ],
    };
  }
  const critical = failed.filter((t) => t.critical);
  const plan: PlanStep[] = [];
  for (const d of tasks.filter((x) => x.state === 'failed')) plan.push({ step: `${d.task}${d.critical ? ' (critical)' : ''}: ${d.advice}`, commands: d.commands.filter((c) => !c.startsWith('cairn retry-task')) });
  if (critical.length > 0) {
    plan.push({ step: `Critical task ${critical.map((t) => t.id).join(', ')} failed: fix it, then retry the workstream (tasks its failure cancelled return to pending)`, commands: [`cairn retry-workstream --workstream-id ${ws.id}`] });
    plan.push({ step: 'Or, to retry only the critical task with new limits (also reopens the workstream)', commands: tasks.filter((d) => d.critical && d.state === 'failed').flatMap((d) => d.commands.filter((c) => c.startsWith('cairn retry-task'))) });
  } else {
    plan.push({ step: 'Only non-critical tasks failed: fix them, then retry the failed tasks only', commands: [`cairn retry-failed-tasks --workstream-id ${ws.id}${failed.some((t) => t.retry_count >= t.max_retries) ? ' --reset-retries' : ''}`] });
    plan.push({ step: 'Or, if a failed task is not needed, skip it so its dependents proceed', commands: failed.map((t) => `cairn skip-task --task-id ${key(t)} --reason "<why>"`) });
  }
  plan.push(...tail);
  return { ...base, diagnosis: critical.length > 0 ? 'critical_task_failed' : 'non_critical_tasks_failed', systemic_causes: [], plan };
}

/** The workstream tree's systemic branch: worker problems, resource problems, configuration. */
function systemicCauses(records: readonly LogRecord[], failed: Task[]): { cause: string; commands: string[] }[] {
  const out: { cause: string; commands: string[] }[] = [];
  const lost = new Set<string>();
  for (const r of records) {
    if ((r.type === 'worker_unresponsive' || (r.type === 'task_reassigned' && r.trigger === 'worker_lost')) && typeof r.worker_id === 'string') lost.add(r.worker_id);
  }
  for (const t of failed) if (t.last_outcome?.kind === 'worker_lost' && t.worker_id) lost.add(t.worker_id);
  if (lost.size > 0) out.push({ cause: `worker problems: ${[...lost].join(', ')} became unresponsive or were lost`, commands: [...lost].flatMap((w) => [`cairn check-worker --worker-id ${w}`, `cairn show-worker-logs --worker-id ${w}`]) });
  const exhausted = new Set(records.filter((r) => r.type === 'resource_exhausted').map((r) => String(r.resource_id)));
  if (exhausted.size > 0) out.push({ cause: `resource problems: ${[...exhausted].join(', ')} ran out`, commands: ['cairn show-resources', ...[...exhausted].map((r) => `cairn set-resource-limit --resource-id ${r} --max-holders <n>`)] });
  const spawn = failed.filter((t) => t.last_outcome?.kind === 'spawn_error');
  const codes = new Set(failed.map((t) => `${t.last_outcome?.kind}:${t.last_outcome?.exit_code ?? t.last_outcome?.signal ?? ''}`));
  if (spawn.length > 0 || codes.size === 1) {
    out.push({
      cause: `configuration: ${spawn.length > 0 ? `${spawn.length} task(s) could not start (missing program or cwd)` : `every task failed the same way (${[...codes][0]})`}; review the spec (commands, cwd, env, params) and .state/config.json`,
      commands: failed.slice(0, 2).map((t) => `cairn debug-task --task-id ${key(t)}`),
    });
  }
  if (out.length === 0) out.push({ cause: 'no common cause recorded: read the failed tasks\' logs', commands: failed.slice(0, 3).map((t) => `cairn show-task --task-id ${key(t)} --include-logs`) });
  return out;
}
