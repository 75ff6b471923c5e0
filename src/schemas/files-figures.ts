import { timestamp, type JsonSchema } from './common.js';
import { allRequired, count, FAILURE_KINDS, mapOf, orNull } from './files-common.js';

/**
 * The figures `cairn metrics --json` reports (history/metrics.ts) and metrics.json holds over the
 * whole log, with the same names and shape: the part of metrics.json's schema they make up.
 */

const ms = (description: string): JsonSchema => ({ description, type: 'integer' });
const rate = (description: string): JsonSchema => ({ description, type: ['number', 'null'], minimum: 0 });

const SPREAD = {
  mean: ms('Mean, rounded to a millisecond.'),
  p50: ms('Median (nearest rank).'),
  p95: ms('95th percentile (nearest rank).'),
  max: ms('Largest.'),
};

/** Fields of the figures, each required. */
export const FIGURE_FIELDS: Record<string, JsonSchema> = {
  records: count('Records counted (the whole log).'),
  first_seq: orNull({ type: 'integer', minimum: 1 }, 'seq of the first record counted, null when none.'),
  last_seq: orNull({ type: 'integer', minimum: 1 }, 'seq of the last record counted, null when none.'),
  span: allRequired('From the first record counted to the last.', {
    from: orNull(timestamp('ts of the first record.'), 'ts of the first record, null when none.'),
    to: orNull(timestamp('ts of the last record.'), 'ts of the last record, null when none.'),
    ms: orNull({ type: 'integer' }, 'Milliseconds between them, null when none.'),
  }),
  recoveries: mapOf(
    'Recoveries by kind (the tool named in a task record\'s recovery field: retry_task, skip_task, rollback_workstream, …).',
    { description: 'The kind of recovery.', minLength: 1 },
    allRequired('How often this kind was used and how its targets\' next ends went.', {
      count: count('Tasks it acted on.'),
      succeeded: count('Its target\'s next end was completed.'),
      failed: count('Its target\'s next end left it failed.'),
      pending: count('Neither yet.'),
      success_rate: { description: 'succeeded / count to three decimals, or null when count is 0.', type: ['number', 'null'], minimum: 0, maximum: 1 },
      time_to_recover_ms: orNull(allRequired('From the failure the recovery answered to the task\'s completion, over its succeeded recoveries of a failed task.', SPREAD), 'Time to recover, null when no recovery of a failed task succeeded.'),
    }),
  ),
  failures: allRequired('Attempts that ended badly.', {
    total: count('All of them.'),
    by_kind: allRequired('By kind (worker_lost: its worker or scheduler was lost).', Object.fromEntries(FAILURE_KINDS.map((k) => [k, count(`Ended by ${k}.`)]))),
    exit_codes: mapOf('Attempts that exited non-zero, by exit code.', { description: 'An exit code.', pattern: '^[0-9]+$' }, count('Attempts that exited with it.')),
    tasks_failed: count('Records that left a task failed.'),
  }),
  attempts: allRequired('task_started records per task that started at least once.', {
    tasks: count('Tasks that started.'),
    total: count('task_started records.'),
    mean: rate('Mean attempts per task to three decimals, null when none.'),
    max: orNull({ type: 'integer', minimum: 1 }, 'The most attempts of a task, null when none.'),
    distribution: mapOf('How many tasks took 1, 2, … attempts.', { description: 'A number of attempts.', pattern: '^[1-9][0-9]*$' }, count('Tasks that took that many.')),
  }),
  durations: mapOf(
    'Per workstream, each completed task\'s time from the start of its completing attempt to its completion.',
    { description: 'A workstream id.', minLength: 1 },
    allRequired('The spread of its durations in ms.', { count: count('Completions.'), ...SPREAD }),
  ),
  throughput: allRequired('Tasks completed per unit of the span.', {
    completed: count('task_completed records.'),
    per_hour: rate('Per hour, null when the span is empty.'),
    per_minute: rate('Per minute, null when the span is empty.'),
  }),
};
