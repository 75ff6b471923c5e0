import { TASK_STATES, WORKER_STATES, WORKSTREAM_STATES } from '../model/states.js';
import { idString, timestamp, type JsonSchema } from './common.js';
import { allRequired, count, countsByState, fileSchema, orNull, seq, taskKey } from './files-common.js';
import { FIGURE_FIELDS } from './files-figures.js';

/**
 * metrics.json (computed from the snapshot's counters by src/store/metrics.ts) and workers.json
 * (the running scheduler's view of its workers' health, rewritten about every second and
 * git-ignored). Neither has a TypeScript type of its own, so the fields are listed here.
 */

/** metrics.json: counts by state, durations, retries, timeouts and recoveries. */
export const METRICS_SCHEMA: JsonSchema = fileSchema({
  file: 'metrics.schema.json',
  title: 'cairn metrics (.state/metrics.json)',
  description: 'Counts by state, then the figures of `cairn metrics --json` over the whole log (recoveries, failures, attempts, durations, throughput: same names and shape), then retries, timeouts and reassignments. Written with the snapshot and derived from transitions.jsonl; archived workstreams are counted too.',
  fields: {
    generated_at: timestamp('ts of the last log record counted (1970-01-01T00:00:00.000Z for none), never the clock: the file changes only when a record changed it. Files of older builds hold the time they were written.'),
    seq: seq('seq of the last log record counted (0: none).', 0),
    workstreams: countsByState('Workstreams (active and archived) in each state.', WORKSTREAM_STATES, (s) => `Workstreams ${s}.`),
    archived_workstreams: count('Workstreams that are terminal and kept in archive/.'),
    tasks: countsByState('Tasks of every workstream in each state.', TASK_STATES, (s) => `Tasks ${s}.`),
    workers: countsByState('Workers in each state, as the log last left them.', WORKER_STATES, (s) => `Workers ${s}.`),
    ...FIGURE_FIELDS,
    retries: count('Automatic retries scheduled.'),
    timeouts: count('Attempts that timed out.'),
    reassignments: count('Tasks sent back to queued because their worker or scheduler was lost.'),
    tasks_finished: count('Tasks that reached completed or failed.'),
    task_duration_ms_total: { description: 'Sum of the durations of ended attempts, in milliseconds.', type: 'number', minimum: 0 },
    task_duration_ms_mean: {
      description: 'task_duration_ms_total / tasks_finished, rounded to a millisecond; null when no task has finished.',
      type: ['integer', 'null'],
      minimum: 0,
    },
  },
});

const WORKER_HEALTH = allRequired('One worker as the scheduler sees it.', {
  id: idString('Worker id.'),
  pid: { description: 'Pid of the worker process, or null when it has none right now.', type: ['integer', 'null'], minimum: 1 },
  state: { description: 'Its state in the log, or unknown when the log does not know it yet.', enum: [...WORKER_STATES, 'unknown'] },
  task: orNull(taskKey('The task it runs, as <workstream_id>/<task_id>, or null when it is free.')),
  last_heartbeat_at: timestamp('When its last heartbeat arrived.'),
  silent_ms: { description: 'Milliseconds from its last heartbeat to written_at; past health_timeout_ms it is unresponsive.', type: 'number' },
});

/** workers.json: live worker health from the running scheduler. */
export const WORKERS_SCHEMA: JsonSchema = fileSchema({
  file: 'workers.schema.json',
  title: 'cairn live worker health (.state/workers.json)',
  description: 'Heartbeats are not written to the log; the running scheduler writes its workers\' live health here about once a second, for check-worker and status. Local to one machine and git-ignored; it goes stale when the scheduler stops.',
  fields: {
    scheduler: allRequired('The scheduler that wrote the file.', {
      id: { description: 'Its id (each cairn run has a new one).', type: 'string', minLength: 1 },
      pid: { description: 'Its pid.', type: 'integer', minimum: 1 },
    }),
    written_at: timestamp('When the file was written.'),
    workers: { description: 'Its workers.', type: 'array', items: WORKER_HEALTH },
  },
});
