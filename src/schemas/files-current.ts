import { TASK_STATES, WORKER_STATES, WORKSTREAM_STATES } from '../model/states.js';
import type { Metrics, Resource, SchedulerInfo, Task, TaskDef, Worker } from '../model/types.js';
import type { ArchiveDoc, SnapshotDoc, WorkstreamDoc } from '../store/snapshot.js';
import { SCHEMA_VERSION } from '../store/snapshot.js';
import { SNAPSHOT_FILE_VERSION } from '../store/snapshot-file.js';
import { closedObject, CRC_PATTERN, idString, NO_NUL_PATTERN, PARAM_NAME, timestamp, type JsonSchema } from './common.js';
import {
  allRequired, count, countsByState, FAILURE_KINDS, type FieldSchemas, fileSchema, HASH_PATTERN, mapOf, MS_LIST, orNull, outcomeOrNull, schemaAt, seq, TASK_KEY_PATTERN,
  taskDefField, taskKey,
} from './files-common.js';
import { RECORD_TYPE_SCHEMAS } from './record-types.js';

/**
 * `.state/current.json` (the snapshot, also kept as `backups/current_<time>_<seq>.json`) and
 * `.state/archive/<ws>.json` (DESIGN §4). Both hold workstreams as `WorkstreamDoc`: the workstream
 * and its tasks keyed by id, exactly as `apply` keeps them, so their schemas live together here.
 */

const nullableTime = (description: string) => orNull(timestamp(description));
const updatedSeq = (what: string) => seq(`seq of the last record that changed this ${what}.`);
const schemaVersion: JsonSchema = {
  description: `Version of the file format; this cairn writes and reads ${SCHEMA_VERSION}. A newer version is refused, never guessed at.`,
  const: SCHEMA_VERSION,
};

/** The `hash` field of current.json and archive files. */
const contentHash = (what: string): JsonSchema => ({
  description: `sha-256 of the canonical (sorted, compact) JSON of this file without the hash field: an edited or damaged ${what} is detected and ignored, never trusted. A file without it is not trusted either.`,
  type: 'string',
  pattern: HASH_PATTERN,
});

const TASK_DEF: FieldSchemas<TaskDef> = {
  id: taskDefField('id', 'Task id, unique in its workstream.'),
  command: taskDefField('command', 'The command from the spec: a string run by /bin/sh -c, or an argv array run without a shell.'),
  depends_on: taskDefField('depends_on', 'Ids of the tasks of the same workstream this one waits for.'),
  resources: taskDefField('resources', 'Resource name to the units the task holds while running (a spec list becomes one unit each).'),
  critical: taskDefField('critical', 'When true, a failure of this task fails the workstream at once.'),
  priority: taskDefField('priority', 'Among ready tasks, higher runs first.'),
  timeout_seconds: taskDefField('timeout_seconds', 'Time limit of one attempt in seconds, or null for none.'),
  max_retries: taskDefField('max_retries', 'Automatic retries allowed before the task fails.'),
  retry_base_seconds: taskDefField('retry_base_seconds', 'Backoff base: retry n waits min(retry_cap_seconds, retry_base_seconds * 2^n).'),
  retry_cap_seconds: taskDefField('retry_cap_seconds', 'Longest wait between two attempts, in seconds.'),
  validate: taskDefField('validate', 'Command run after the command exits 0, on the same worker; null for none.'),
  cwd: taskDefField('cwd', 'Working directory of the command, or null for the one cairn runs in.'),
  env: taskDefField('env', 'Extra environment variables of the command.'),
  cpus: taskDefField('cpus', 'CPUs asked of an allocating executor (Slurm); absent when the spec does not say.'),
  memory_mb: taskDefField('memory_mb', 'Memory in MB asked of an allocating executor (Slurm); absent when the spec does not say.'),
  gpus: taskDefField('gpus', 'GPUs asked of an allocating executor (Slurm); absent when the spec does not say.'),
};

/** Task fields present only when they apply (resources asked of Slurm, the job of a Slurm attempt). */
const OPTIONAL_TASK_FIELDS: ReadonlySet<string> = new Set(['cpus', 'memory_mb', 'gpus', 'executor', 'job_id']);

const cancelTriggers = schemaAt(RECORD_TYPE_SCHEMAS.task_cancelled, 'properties', 'trigger', 'enum') as unknown as string[];

const TASK_LIVE: FieldSchemas<Omit<Task, keyof TaskDef>> = {
  workstream_id: idString('Id of the workstream the task belongs to.'),
  state: { description: 'State of the task (DESIGN §2).', enum: [...TASK_STATES] },
  order: count('Position in the spec (0 for the first task): the last tie-breaker among ready tasks.'),
  path_length: { description: 'Length of the longest dependency path from this task to the end, itself included: the second tie-breaker.', type: 'integer', minimum: 1 },
  retry_count: count('Automatic retries spent so far.'),
  attempt: count('Attempts started so far (while running, the number of the running attempt); 0 before the first.'),
  worker_id: orNull(idString('Worker that runs or last ran the task, or null.')),
  pid: { description: 'Pid of the running command (or validation), or null when none runs.', type: ['integer', 'null'], minimum: 1 },
  pgid: { description: 'Process group of the running command (its own, so a kill reaches grandchildren), or null.', type: ['integer', 'null'], minimum: 1 },
  process_start: {
    description: 'Start time of the task process in clock ticks since boot, so a reused pid is never taken for it; null when unknown or not running.',
    type: ['string', 'null'],
  },
  scheduler_id: { description: 'Id of the scheduler that started the current or last attempt, or null.', type: ['string', 'null'], minLength: 1 },
  executor: { description: 'Present when the current or last attempt ran as a cluster job: the executor (slurm).', enum: ['slurm'] },
  job_id: { description: 'Present with executor: the job id of the current or last attempt.', type: 'string', minLength: 1 },
  started_at: nullableTime('When the current or last attempt started, or null before the first.'),
  deadline: nullableTime('When the running attempt times out, or null (no timeout, or not running).'),
  retry_at: nullableTime('When a retrying task is queued again, or null.'),
  queued_at: nullableTime('When the task was last queued, or null if it never was.'),
  finished_at: nullableTime('When the task last reached a terminal state, or null.'),
  last_outcome: outcomeOrNull('How the last attempt (or validation) ended, or null before any ended.'),
  cancel_trigger: {
    description: `Why the task was last cancelled (${cancelTriggers.join(', ')}), or null.`,
    enum: [...cancelTriggers, null],
  },
  blocked_by: orNull(idString('The failed dependency that blocks the task, or null.')),
  resource_warned: { description: 'Whether resource_exhausted was already logged for the current wait in queued.', type: 'boolean' },
  updated_seq: updatedSeq('task'),
};

const TASK_FIELDS: Record<string, JsonSchema> = { ...TASK_DEF, ...TASK_LIVE };
const TASK = closedObject('A task: its definition from the spec (defaults filled in) and its live fields, as `apply` keeps them.', TASK_FIELDS,
  Object.keys(TASK_FIELDS).filter((k) => !OPTIONAL_TASK_FIELDS.has(k)));

const WORKSTREAM_FIELDS: FieldSchemas<WorkstreamDoc> = {
  id: idString('Workstream id.'),
  state: { description: 'State of the workstream (DESIGN §2).', enum: [...WORKSTREAM_STATES] },
  params: mapOf(
    'Params given to every task as CAIRN_PARAM_<NAME> (after any resume_workstream --param).',
    { description: 'A param name.', pattern: PARAM_NAME },
    { description: 'Its value.', type: 'string', pattern: NO_NUL_PATTERN },
  ),
  submitted_at: timestamp('When the workstream was submitted.'),
  finished_at: nullableTime('When the workstream last reached a terminal state, or null.'),
  task_ids: { description: 'Task ids in definition order.', type: 'array', uniqueItems: true, items: idString('A task id.') },
  counts: countsByState('How many of its tasks are in each state.', TASK_STATES, (s) => `Tasks ${s}.`),
  last_task_seq: seq('seq of the last record that changed one of its tasks (its newest checkpoint is taken as of it).'),
  last_task_at: timestamp('ts of that record.'),
  failure: orNull(
    allRequired('Why the workstream failed.', {
      reason: { description: 'The failure in words (critical task build failed, …).', type: 'string' },
      task_id: orNull(idString('The task whose failure failed the workstream, or null.')),
    }),
    'Why the workstream failed, or null when it has not.',
  ),
  updated_seq: updatedSeq('workstream'),
  tasks: mapOf('Its tasks, keyed by task id (the same ids as task_ids).', idString('A task id.'), { description: 'The task.', $ref: '#/$defs/task' }),
};

const WORKER: FieldSchemas<Worker> = {
  id: idString('Worker id.'),
  state: { description: 'State of the worker (DESIGN §2).', enum: [...WORKER_STATES] },
  pid: { description: 'Pid of the worker process, or null when it has none.', type: ['integer', 'null'], minimum: 1 },
  task: orNull(taskKey('The task it runs, as <workstream_id>/<task_id>, or null.')),
  scheduler_id: { description: 'Id of the scheduler that started it, or null.', type: ['string', 'null'], minLength: 1 },
  started_at: timestamp('When it started.'),
  pending_request: orNull(
    allRequired('A restart or shutdown an operator asked for that the scheduler has not carried out yet.', {
      kind: { description: 'What was asked.', enum: ['restart', 'shutdown'] },
      reassign: { description: 'Whether its task is queued again (true) or left to fail over (false).', type: 'boolean' },
      seq: seq('seq of the request record.'),
    }),
    'A request waiting for the scheduler, or null.',
  ),
  updated_seq: updatedSeq('worker'),
};

const RESOURCE: FieldSchemas<Resource> = {
  id: idString('Resource name.'),
  max_holders: { description: 'Units that may be held at once, or null for unlimited.', type: ['integer', 'null'], minimum: 1 },
  holders: mapOf(
    'Who holds it now: <workstream_id>/<task_id> to units held.',
    taskKey('A running or validating task.'),
    { description: 'Units it holds.', type: 'integer', minimum: 1 },
  ),
  updated_seq: updatedSeq('resource'),
};

const SCHEDULER: FieldSchemas<SchedulerInfo> = {
  id: { description: 'Id of the scheduler (each cairn run has a new one).', type: 'string', minLength: 1 },
  pid: { description: 'Its pid.', type: 'integer', minimum: 1 },
  process_start: { description: 'Its start time in clock ticks since boot, or null when unknown.', type: ['string', 'null'] },
  started_at: timestamp('When it started.'),
};

const METRICS: FieldSchemas<Metrics> = {
  attempts: count('Attempts started.'),
  retries: count('Automatic retries scheduled.'),
  timeouts: count('Attempts that timed out.'),
  reassignments: count('Tasks sent back to queued because their worker or scheduler was lost.'),
  task_duration_ms_total: { description: 'Sum of the durations of ended attempts, in milliseconds.', type: 'number', minimum: 0 },
  tasks_finished: count('Tasks that reached completed or failed.'),
  recoveries: mapOf(
    'Recoveries by kind (retry_task, skip_task, rollback_workstream, …).',
    { description: 'The kind of recovery.', minLength: 1 },
    allRequired('How often this kind was used and how its targets\' next ends went.', {
      count: count('Times used.'),
      succeeded: count('Times its target task\'s next end was completed.'),
      failed: count('Times its target task\'s next end left it failed.'),
      ttr_ms: MS_LIST('Time to recover of each succeeded recovery of a failed task (failure to completion), in ms, comma-separated in log order.'),
    }),
  ),
  recovery_targets: mapOf(
    'Tasks a recovery touched whose next end is still to come: <workstream_id>/<task_id> to the recovery.',
    { description: 'A task as <workstream_id>/<task_id>.', pattern: TASK_KEY_PATTERN },
    allRequired('The recovery awaiting the task\'s next end.', {
      kind: { description: 'The kind of recovery.', type: 'string', minLength: 1 },
      failed_at: orNull(timestamp('When the task failed, if the recovery answered a failure.'), 'When the task failed, or null when the recovery answered no failure.'),
    }),
  ),
  failures: allRequired('Attempts that ended badly, by kind (a reassignment counts as worker_lost).', Object.fromEntries(FAILURE_KINDS.map((k) => [k, count(`Attempts ended by ${k}.`)]))),
  exit_codes: mapOf('Attempts that exited non-zero, by exit code.', { description: 'An exit code.', pattern: '^[0-9]+$' }, count('Attempts that exited with it.')),
  tasks_failed: count('Records that left a task failed.'),
  attempts_per_task: mapOf('How many tasks started 1, 2, … times.', { description: 'A number of starts.', pattern: '^[1-9][0-9]*$' }, count('Tasks that started that many times.')),
  completed: count('task_completed records.'),
  durations_ms: mapOf(
    'Per workstream, each task completion\'s time from the start of its attempt, in ms, comma-separated in log order (exact percentiles need every one).',
    idString('A workstream id.'),
    MS_LIST('Milliseconds, comma-separated.'),
  ),
  first_ts: orNull(timestamp('ts of the log\'s first record.'), 'ts of the log\'s first record, or null before any.'),
};

const SNAPSHOT: FieldSchemas<SnapshotDoc> = {
  schema_version: {
    description: `Version of the file format. ${SNAPSHOT_FILE_VERSION}: each task on one line and \`hash\` taken over the file's own bytes; 1 (older builds, and the whole-state snapshots under snapshots/): fully indented, \`hash\` over the canonical content. Both are read; a newer version is refused, never guessed at.`,
    enum: [SCHEMA_VERSION, SNAPSHOT_FILE_VERSION],
  },
  seq: seq('seq of the last log record the snapshot contains (0: none). Loading replays the log after it.', 0),
  crc: { description: 'crc of that record (00000000 for none): a snapshot of another log is detected, not trusted.', type: 'string', pattern: CRC_PATTERN },
  log_offset: count('Byte offset in transitions.jsonl just after that record, where replay resumes.'),
  written_at: timestamp('ts of the last log record the snapshot contains (1970-01-01T00:00:00.000Z for none), never the clock: the same state is written as the same bytes. Snapshots of older builds hold the time they were written.'),
  workstreams: mapOf('Active (non-terminal) workstreams, keyed by id.', idString('A workstream id.'), { description: 'The workstream.', $ref: '#/$defs/workstream' }),
  archived: mapOf(
    'Terminal workstreams, kept in archive/<id>.json: id to the seq their archive file was written at.',
    idString('A workstream id.'),
    seq('seq of its archive file.'),
  ),
  workers: mapOf('Workers, keyed by id.', idString('A worker id.'), allRequired('A worker, as the log last left it (live health is in workers.json).', WORKER)),
  resources: mapOf('Resources, keyed by name.', idString('A resource name.'), allRequired('A resource and who holds it.', RESOURCE)),
  scheduler: orNull(allRequired('The scheduler the log last saw start.', SCHEDULER), 'The scheduler the log last saw start, or null when none runs (or it stopped cleanly).'),
  metrics: allRequired('Counters kept by apply, from which metrics.json is computed.', METRICS),
  hash: {
    description: `sha256: and the sha-256 of this file's bytes with these 64 hex digits left out (version ${SNAPSHOT_FILE_VERSION}), or of the canonical (sorted, compact) JSON of the file without the hash field (version 1): an edited or damaged snapshot is detected and ignored, never trusted. A file without it is not trusted either.`,
    type: 'string',
    pattern: HASH_PATTERN,
  },
};

/** current.json: the snapshot. */
export const CURRENT_SCHEMA: JsonSchema = fileSchema({
  file: 'current.schema.json',
  title: 'cairn snapshot (.state/current.json)',
  description: 'The state of every active workstream, task, worker and resource as of the log record `seq`; backups/current_<time>_<seq>.json are earlier copies of it. Derived from transitions.jsonl and rebuilt from it by cairn restore-state --from-transitions; cairn validate-state checks it equals a replay. Keys sorted, two-space indent, each task on one line.',
  fields: SNAPSHOT,
  defs: {
    workstream: allRequired('A workstream and its tasks, keyed by task id.', WORKSTREAM_FIELDS),
    task: TASK,
  },
});

const ARCHIVE: FieldSchemas<ArchiveDoc> = {
  schema_version: schemaVersion,
  seq: seq('seq of the log when the file was written: the workstream is as a replay to this seq leaves it.'),
  workstream: { description: 'The workstream and its tasks, as current.json held it while it was active.', $ref: 'current.schema.json#/$defs/workstream' },
  hash: contentHash('archive file'),
};

/** archive/<ws>.json: a terminal workstream's final state. */
export const ARCHIVE_SCHEMA: JsonSchema = fileSchema({
  file: 'archive.schema.json',
  title: 'cairn archived workstream (.state/archive/<workstream_id>.json)',
  description: 'The final state of a terminal (completed, failed or cancelled) workstream, moved out of current.json, with a sha-256 hash of its content. A recovery that reopens the workstream brings it back to current.json and removes this file. Derived from transitions.jsonl.',
  fields: ARCHIVE,
});
