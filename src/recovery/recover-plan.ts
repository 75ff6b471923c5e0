import type { AttemptView, FailureReport, TaskDiagnosis } from './analyze.js';

/**
 * `cairn recover`'s plan, pure: analyze_workstream_failure's diagnosis of each failed task turned
 * into steps a tool can carry out. By the kind of failure:
 * - transient (timed out, killed by a signal, its worker lost): retry, with twice the time for a
 *   timeout; safe to repeat, so `--auto` runs it;
 * - a command that exited non-zero, not the same way on every attempt (exit code or output
 *   differ: flaky): retry, safe too;
 * - a command that failed the same way on every attempt (same exit code, same output; one attempt
 *   counts as that, since nothing shows it would go otherwise), validate failed, spawn error, no
 *   outcome: deterministic, so retrying repeats the failure until a person fixes the cause; the
 *   step is asked for (never run by `--auto`).
 * A blocked task gets no step: it follows the failed task at its root once that one runs again.
 */

export type Verdict = 'retry' | 'ask';

export interface RecoverStep {
  task: string;
  kind: TaskDiagnosis['kind'];
  verdict: Verdict;
  /** Safe to repeat: `--auto` carries it out. */
  safe: boolean;
  /** Why this step, in one line (also the records' reason: "recover: <why>"). */
  why: string;
  /** The exact command the step runs. */
  command: string;
  /** What the step calls: retry_task with these flags. */
  call: { tool: 'retry_task'; task: string; timeoutSeconds?: number; resetRetries?: boolean };
  /** For a step left to a person: what to look at first. */
  look: string[];
}

export interface RecoverPlan {
  workstream_id: string;
  state: string;
  diagnosis: FailureReport['diagnosis'];
  steps: RecoverStep[];
  /** Blocked tasks and the failed task each follows. */
  follows: { task: string; root: string | null }[];
  /** What the analysis says about the workstream as a whole (systemic causes). */
  notes: string[];
}

const TRANSIENT = new Set<TaskDiagnosis['kind']>(['timeout', 'signal', 'worker_lost']);

/** How an attempt failed, as compared between attempts: kind, exit code, signal and the output's tail. */
function failedWay(a: AttemptView): string | null {
  if (!a.outcome || a.ended_by === 'task_reassigned') return null;
  return JSON.stringify([a.outcome.kind, a.outcome.exit_code, a.outcome.signal, a.log_tail]);
}

/** The distinct ways the attempts of a task failed (attempts without an outcome do not count). */
export function failedWays(d: TaskDiagnosis): number {
  return new Set(d.attempts.map(failedWay).filter((x): x is string => x !== null)).size;
}

function step(d: TaskDiagnosis): RecoverStep {
  const reset = d.retry_count >= d.max_retries;
  const base = { task: d.task, kind: d.kind, look: [] as string[] };
  const cmd = (extra: string) => `cairn retry-task --task-id ${d.task}${extra}${reset ? ' --reset-retries' : ''}`;
  const call = (timeoutSeconds?: number) => ({ tool: 'retry_task' as const, task: d.task, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}), ...(reset ? { resetRetries: true } : {}) });
  const n = d.attempts.length;
  if (d.kind === 'timeout') {
    const next = d.timeout_seconds !== null ? Math.ceil(d.timeout_seconds * 2) : 600;
    return { ...base, verdict: 'retry', safe: true, why: `timed out after ${d.timeout_seconds ?? '?'} s (transient): retried with ${next} s`, command: cmd(` --timeout ${next}`), call: call(next) };
  }
  if (TRANSIENT.has(d.kind)) {
    const what = d.kind === 'signal' ? `killed by ${d.signal ?? 'a signal'}` : 'its worker was lost';
    return { ...base, verdict: 'retry', safe: true, why: `${what} (transient): retried`, command: cmd(''), call: call() };
  }
  if (d.kind === 'exit' && failedWays(d) > 1) {
    return { ...base, verdict: 'retry', safe: true, why: `exit ${d.exit_code ?? '?'}, but its ${n} attempts failed in ${failedWays(d)} different ways (flaky): retried`, command: cmd(''), call: call() };
  }
  const look = d.commands.filter((c) => !c.startsWith('cairn retry-task'));
  const why = d.kind === 'exit'
    ? `exit ${d.exit_code ?? '?'} ${n > 1 ? `the same way on all ${n} attempts (same exit code and output)` : 'on its only attempt'}: deterministic, a retry repeats it until the cause is fixed`
    : d.kind === 'validation' ? 'its validate command failed: fix what it checks first'
      : d.kind === 'spawn_error' ? 'its command could not be started: fix the task definition (cairn update-task) or its environment first'
        : `no retryable outcome recorded (${d.kind}): read the task and its log first`;
  return { ...base, verdict: 'ask', safe: false, why, command: cmd(''), call: call(), look };
}

/** The plan for a workstream from its failure analysis. */
export function planRecovery(r: FailureReport): RecoverPlan {
  const failed = r.tasks.filter((d) => d.state === 'failed');
  return {
    workstream_id: r.workstream_id,
    state: r.state,
    diagnosis: r.diagnosis,
    steps: failed.map(step),
    follows: r.tasks.filter((d) => d.state === 'blocked').map((d) => ({ task: d.task, root: d.root_cause === null ? null : `${r.workstream_id}/${d.root_cause}` })),
    notes: r.systemic_causes.map((c) => `every task that ran failed; a systemic cause is likely: ${c}`),
  };
}
