import { planRecovery, type RecoverPlan, type RecoverStep } from '../../recovery/recover-plan.js';
import type { ActionOptions, RecordView } from './action.js';
import { analyzeWorkstreamFailure } from './analyze.js';
import { retryTask } from './tasks.js';

export interface RecoverOptions extends ActionOptions {
  workstream: string;
  /** Carry out only the steps safe to repeat, without asking; name the others. */
  auto?: boolean;
  /** Without auto: asked before each step; false leaves the step undone. */
  confirmStep?: (step: RecoverStep, index: number) => Promise<boolean>;
  /** Called with the plan before any step is carried out (the CLI shows it first). */
  onPlan?: (plan: RecoverPlan) => void;
}

/**
 * What became of a step: done (its records appended), nothing_to_do (the task no longer needed
 * it), left (not safe to repeat: for a person, with --auto), declined (not confirmed), or, on a
 * dry run, would_run / would_ask.
 */
export type StepStatus = 'done' | 'nothing_to_do' | 'left' | 'declined' | 'would_run' | 'would_ask';

export interface StepResult extends RecoverStep {
  status: StepStatus;
  message: string | null;
  records: Pick<RecordView, 'seq' | 'type' | 'reason' | 'operator'>[];
}

export interface RecoverResult extends Omit<RecoverPlan, 'steps'> {
  dry_run: boolean;
  auto: boolean;
  steps: StepResult[];
  /** Tasks whose step was left to a person or declined. */
  left: string[];
  /** Every step done (or nothing to do): nothing is left for a person. */
  complete: boolean;
  next: string[];
  warnings: string[];
}

/** Lines of each attempt's log compared to tell a deterministic failure from a flaky one. */
const LOG_LINES = 50;

/**
 * recover: analyze_workstream_failure's plan carried out (recovery/recover-plan.ts). Each step goes
 * through the recovery verb it names (retry_task), so it is recorded as usual, by the operator,
 * with the reason "recover: <why>". A dry run changes nothing; `auto` runs only the steps safe to
 * repeat; otherwise `confirmStep` is asked before each step.
 */
export async function recover(o: RecoverOptions): Promise<RecoverResult> {
  const report = await analyzeWorkstreamFailure({ ...o, logLines: LOG_LINES });
  const plan = planRecovery(report);
  o.onPlan?.(plan);
  const auto = o.auto === true;
  const dry = o.dryRun === true;
  const steps: StepResult[] = [];
  const warnings: string[] = [];
  let scheduled = false;
  for (const [i, s] of plan.steps.entries()) {
    const base = { ...s, message: null, records: [] };
    if (auto && !s.safe) steps.push({ ...base, status: 'left', message: s.why });
    else if (dry) steps.push({ ...base, status: auto ? 'would_run' : 'would_ask' });
    else if (!auto && o.confirmStep && !(await o.confirmStep(s, i))) steps.push({ ...base, status: 'declined', message: 'not confirmed; left as it is' });
    else {
      const r = await retryTask({
        ...o, dryRun: false, task: s.call.task, timeoutSeconds: s.call.timeoutSeconds, resetRetries: s.call.resetRetries,
        reason: `recover: ${s.why}${o.reason ? ` (${o.reason})` : ''}`,
      });
      warnings.push(...r.warnings);
      if (r.next.length > 0) scheduled = true;
      steps.push({ ...base, status: r.changed ? 'done' : 'nothing_to_do', message: r.message, records: r.records.map(({ seq, type, reason, operator }) => ({ seq, type, reason, operator })) });
    }
  }
  const left = steps.filter((s) => s.status === 'left' || s.status === 'declined').map((s) => s.task);
  return {
    ...plan, dry_run: dry, auto, steps, left, complete: left.length === 0,
    next: [...(scheduled ? ['cairn run'] : []), ...steps.filter((s) => s.status === 'left' || s.status === 'declined').flatMap((s) => [...s.look, s.command])],
    warnings: [...new Set(warnings)],
  };
}
