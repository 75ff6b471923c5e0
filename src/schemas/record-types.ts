import { RECORD_TYPE_NAMES, RECORD_TYPES, type RecordType } from '../model/catalogue.js';
import { ACTIVE_TASK_STATES, type TaskState } from '../model/states.js';
import { TASK_TRANSITIONS, WORKER_TRANSITIONS, WORKSTREAM_TRANSITIONS } from '../model/transitions.js';
import { DRAFT, idString, NO_NUL_PATTERN, PARAM_NAME, SCHEMA_BASE, timestamp, TIMESTAMP_PATTERN, type JsonSchema } from './common.js';

/**
 * One JSON Schema per record type: `schemas/records/<type>.schema.json`. Each refers to the
 * envelope (record.schema.json) and closes the record: besides the envelope it allows exactly the
 * fields below. Required are the fields `apply` needs; optional are the ones it reads when present
 * (and `from`/`to` of workers, which DESIGN §3 lists among the entity fields). The `from`/`to`
 * states come from the transition tables, so a schema can never allow a move the tables forbid.
 */

interface Fields {
  required?: Record<string, JsonSchema>;
  optional?: Record<string, JsonSchema>;
}

const ENVELOPE_REF = '../record.schema.json';

const ws = idString('Id of the workstream.');
const task = idString('Id of the task within its workstream.');
const worker = idString('Id of the worker.');
const resource = idString('Name of the resource.');
const maxHolders = { description: 'Units that may be held at once, or null for unlimited.', type: ['integer', 'null'], minimum: 1 };
const outcome = { description: 'How the attempt ended.', $ref: `${ENVELOPE_REF}#/$defs/outcome` };
const ATTEMPT = { description: 'Number of the attempt, 1 for the first.', type: 'integer', minimum: 1 };
const retryCount = (min: number) => ({ description: 'Automatic retries spent so far.', type: 'integer', minimum: min });
const recovery = {
  description: 'The recovery this is part of (retry_task, skip_task, rollback_workstream, …), counted in metrics.json.',
  type: 'string',
  minLength: 1,
};
const schedulerId = { description: 'Id of the scheduler process (each cairn run has a new one).', type: 'string', minLength: 1 };
const pidOrNull = (what: string) => ({ description: `${what}, or null when there is none.`, type: ['integer', 'null'], minimum: 1 });
const processStart = {
  description: 'Start time of the process in clock ticks since boot, so a reused pid is never taken for it; null when unknown.',
  type: ['string', 'null'],
};
const taskRef = { workstream_id: ws, task_id: task };
const EXECUTOR = { description: 'The executor of an attempt that runs outside a worker process (absent: a local worker process).', enum: ['slurm'] };
const JOB_ID = { description: 'The job id the executor gave the attempt (Slurm: sbatch --parsable).', type: 'string', pattern: '^[0-9]+(_[0-9]+)?$' };
const TASK_DEF_REF = `${ENVELOPE_REF}#/$defs/spec/properties/tasks/items`;
const PARAMS = {
  description: 'Params.',
  type: 'object',
  propertyNames: { description: 'A param name.', pattern: PARAM_NAME },
  additionalProperties: { description: 'Its value.', type: 'string', pattern: NO_NUL_PATTERN },
};

const FIELDS: { readonly [T in RecordType]: Fields } = {
  workstream_submitted: {
    required: { workstream_id: ws, spec: { description: 'The normalized spec (every default filled in).', $ref: `${ENVELOPE_REF}#/$defs/spec` } },
    optional: {
      to: { description: 'State of the new workstream.', const: 'pending' },
      rerun_of: idString('The workstream this one reruns (rerun-workstream), when it is a rerun.'),
    },
  },
  workstream_started: { required: { workstream_id: ws } },
  workstream_completed: { required: { workstream_id: ws } },
  workstream_failed: {
    required: { workstream_id: ws },
    optional: {
      failure: { description: 'Why the workstream failed (critical_task_failed, no_progress, …).', type: 'string', minLength: 1 },
      task_id: idString('The task whose failure failed the workstream, when there is one.'),
    },
  },
  workstream_cancelled: { required: { workstream_id: ws } },
  workstream_reopened: { required: { workstream_id: ws }, optional: { recovery } },
  workstream_rolled_back: {
    required: { workstream_id: ws, checkpoint_seq: { description: 'seq of the checkpoint the workstream was rolled back to.', type: 'integer', minimum: 1 } },
    optional: { recovery },
  },
  workstream_resumed: {
    required: { workstream_id: ws },
    optional: {
      params: {
        description: 'Params changed by --param k=v, merged over the old ones.',
        type: 'object',
        propertyNames: { description: 'A param name.', pattern: PARAM_NAME },
        additionalProperties: { description: 'Its new value.', type: 'string', pattern: NO_NUL_PATTERN },
      },
      from_task: idString('The task the operator resumed from (--from-task).'),
      recovery,
    },
  },
  workstream_updated: {
    required: {
      workstream_id: ws,
      changed_tasks: { description: 'Tasks whose definition changed (a task_updated record follows for each).', type: 'array', items: task },
      added_tasks: { description: 'Tasks added (a task_added record follows for each).', type: 'array', items: task },
    },
    optional: {
      params: { ...PARAMS, description: 'The params of the changed spec, replacing the old ones (present only when they changed).' },
      old_params: { ...PARAMS, description: 'The params before the change.' },
      recovery,
    },
  },
  workstream_reset: { required: { workstream_id: ws }, optional: { recovery } },
  task_queued: { required: taskRef },
  task_blocked: { required: taskRef, optional: { blocked_by: idString('The failed dependency that blocks the task.') } },
  task_unblocked: { required: taskRef },
  task_started: {
    required: { ...taskRef, worker_id: worker, attempt: ATTEMPT },
    optional: {
      pid: pidOrNull('Pid of the task process'),
      pgid: pidOrNull('Process group of the task (its own, so a kill reaches grandchildren)'),
      process_start: processStart,
      scheduler_id: { ...schedulerId, type: ['string', 'null'], description: 'Id of the scheduler that started the attempt, or null.' },
      deadline: { description: 'When the attempt times out, or null for no timeout.', type: ['string', 'null'], pattern: TIMESTAMP_PATTERN },
      executor: EXECUTOR,
      job_id: JOB_ID,
    },
  },
  task_adopted: {
    required: { ...taskRef, worker_id: worker, attempt: ATTEMPT, executor: EXECUTOR, job_id: JOB_ID },
    optional: {
      scheduler_id: { ...schedulerId, type: ['string', 'null'], description: 'Id of the scheduler that adopted the job.' },
      previous_worker_id: idString('The lost scheduler\'s worker that ran the job before.'),
    },
  },
  task_validating: { required: taskRef, optional: { pid: pidOrNull('Pid of the validate process') } },
  task_completed: { required: taskRef },
  task_attempt_failed: { required: { ...taskRef, retry_count: retryCount(1), retry_at: timestamp('When the next attempt is due.'), outcome } },
  task_timed_out: { required: { ...taskRef, retry_count: retryCount(1), retry_at: timestamp('When the next attempt is due.'), outcome } },
  task_failed: { required: taskRef },
  task_validation_failed: { required: taskRef },
  task_reassigned: { required: taskRef },
  task_cancelled: {
    required: taskRef,
    optional: {
      trigger: { description: 'Who or what cancelled it. Default operator.', enum: ['operator', 'cascade', 'critical_failure', 'rollback'] },
    },
  },
  task_skipped: { required: taskRef, optional: { recovery } },
  task_retried: {
    required: taskRef,
    optional: {
      timeout_seconds: { description: 'New attempt time limit in seconds (--timeout).', type: 'number', exclusiveMinimum: 0 },
      max_retries: { description: 'New retry limit (--max-retries).', type: 'integer', minimum: 0 },
      retry_count: { ...retryCount(0), description: 'Retry count to set (0 with --reset-retries).' },
      recovery,
    },
  },
  task_reset: { required: taskRef, optional: { retry_count: { ...retryCount(0), description: 'Retry count to set.' }, recovery } },
  task_dependency_removed: { required: { ...taskRef, dependency_id: idString('The dependency removed from depends_on.') } },
  task_updated: {
    required: {
      ...taskRef,
      old: { description: 'The definition before the change.', $ref: TASK_DEF_REF },
      new: { description: 'The definition after the change; the next attempt uses it.', $ref: TASK_DEF_REF },
      fields: { description: 'The names of the fields that changed.', type: 'array', minItems: 1, items: { description: 'A field of the definition.', type: 'string', minLength: 1 } },
    },
    optional: { recovery },
  },
  task_added: {
    required: { ...taskRef, definition: { description: 'The new task\'s definition (every default filled in).', $ref: TASK_DEF_REF } },
    optional: { to: { description: 'State of the new task.', const: 'pending' }, recovery },
  },
  resource_declared: { required: { resource_id: resource, max_holders: maxHolders } },
  resource_limit_changed: { required: { resource_id: resource, max_holders: maxHolders } },
  resource_exhausted: {
    required: { resource_id: resource },
    optional: {
      workstream_id: ws,
      task_id: idString('The task that waits.'),
      waited_ms: { description: 'How long the task had waited.', type: 'integer', minimum: 0 },
    },
  },
  worker_started: { required: { worker_id: worker }, optional: { pid: pidOrNull('Pid of the worker process'), scheduler_id: { ...schedulerId, type: ['string', 'null'] } } },
  worker_unresponsive: {
    required: { worker_id: worker },
    optional: { silent_ms: { description: 'How long the worker had been silent.', type: 'integer', minimum: 0 } },
  },
  worker_recovered: { required: { worker_id: worker } },
  worker_shutdown: {
    required: { worker_id: worker },
    optional: { trigger: { description: 'Why it stopped (unresponsive, request, scheduler_stopped, …).', type: 'string', minLength: 1 } },
  },
  worker_restart_requested: { required: { worker_id: worker } },
  worker_shutdown_requested: {
    required: { worker_id: worker },
    optional: { reassign: { description: 'Whether its task is queued again (true) or left to fail over (false).', type: 'boolean' } },
  },
  scheduler_started: {
    required: { scheduler_id: schedulerId, pid: { description: 'Pid of the scheduler process.', type: 'integer', minimum: 1 } },
    optional: { process_start: processStart },
  },
  scheduler_stopped: {
    optional: {
      scheduler_id: schedulerId,
      released_workers: {
        description: 'Shut-down workers this stop removes from the state (current.json, status): they leave the live lists when their run ends. Their records stay in the log. Absent in records of older builds, whose workers stay listed as shut down.',
        type: 'array',
        items: worker,
        uniqueItems: true,
      },
    },
  },
  checkpoint_named: {
    required: {
      workstream_id: ws,
      name: idString('The checkpoint\'s name, unique among the workstream\'s named checkpoints; never all digits nor `latest`, so --to-checkpoint reads it unambiguously.'),
      checkpoint_seq: { description: 'The seq the name stands for: the workstream\'s last task transition when it was named.', type: 'integer', minimum: 1 },
    },
  },
  system_checkpoint_created: {
    required: {
      name: idString('The system checkpoint\'s name, unique among system checkpoints; never all digits nor `latest`.'),
      checkpoint_seq: { description: 'The seq of the whole state the name stands for: the last record before this one (0: the empty state).', type: 'integer', minimum: 0 },
      checkpoint_crc: { description: 'The log\'s crc at checkpoint_seq, so a log that no longer holds that point can be told (00000000 at seq 0).', type: 'string', pattern: '^[0-9a-f]{8}$' },
    },
  },
  system_checkpoint_restored: {
    required: {
      name: idString('The system checkpoint restored.'),
      checkpoint_seq: { description: 'Its seq.', type: 'integer', minimum: 0 },
    },
    optional: {
      cancelled_workstreams: { description: 'Workstreams submitted after the checkpoint whose unfinished tasks this restore cancels.', type: 'array', items: ws },
      rolled_back_workstreams: { description: 'Workstreams rolled back to their state at the checkpoint (their workstream_rolled_back records follow).', type: 'array', items: ws },
      left: { description: 'What the restore leaves as it is, one line each (completed work, changed definitions).', type: 'array', items: { description: 'One line.', type: 'string' } },
    },
  },
  state_restored: {
    optional: {
      source: { description: 'What current.json was rebuilt from.', enum: ['backup', 'transitions'] },
      file: { description: 'The backup or log file used.', type: 'string', minLength: 1 },
      changes: { description: 'How many differences from the old current.json the restore made.', type: 'integer', minimum: 0 },
      replaced_log: { description: 'Where the replaced log was kept, when another log file was installed.', type: 'string', minLength: 1 },
    },
  },
  log_archived: {
    required: {
      segments: { description: 'The segment files moved out, oldest first.', type: 'array', items: { description: 'A segment file name.', type: 'string', minLength: 1 } },
      archived_to: { description: 'The folder they were moved to (absolute).', type: 'string', minLength: 1 },
      base_seq: { description: 'The last seq the moved segments held: the log here starts after it.', type: 'integer', minimum: 1 },
    },
  },
  state_repaired: {
    required: { actions: { description: 'What repair_state did, one line each.', type: 'array', items: { description: 'One action.', type: 'string' } } },
  },
  record_lost: {
    required: { damage: { description: 'What was wrong with the record and what could be read of it.', type: 'string', minLength: 1 } },
    optional: { set_aside_file: { description: 'The file (in the state folder) that keeps the damaged bytes.', type: 'string', minLength: 1 } },
  },
  workstream_carried_forward: {
    required: {
      workstream_id: ws,
      source: { description: 'The file the workstream was restored from (current.json, archive/<ws>.json, checkpoints/<ws>/<seq>.json).', type: 'string', minLength: 1 },
      source_seq: { description: 'The seq that file was written at.', type: 'integer', minimum: 0 },
      workstream: { description: 'The workstream as restored, with its tasks by id (the form of current.json); running tasks come back queued.', type: 'object' },
      differences: { description: 'Each difference from the state the log gave, one line each.', type: 'array', items: { description: 'One difference.', type: 'string' } },
    },
    optional: {
      resources: { description: 'Resources the workstream uses that the log no longer declares, with their max_holders.', type: 'object', additionalProperties: maxHolders },
    },
  },
};

type Table = Record<string, Partial<Record<RecordType, readonly string[]>>>;

/** The states a record type moves from and to in a table; null when the table has no such move. */
function moves(table: Table, type: RecordType): { from: string[]; to: string[] } | null {
  const from: string[] = [];
  const to = new Set<string>();
  for (const [state, row] of Object.entries(table)) {
    const targets = row[type];
    if (!targets) continue;
    from.push(state);
    for (const t of targets) to.add(t);
  }
  return from.length === 0 ? null : { from, to: [...to] };
}

function moveFields(kind: string, m: { from: string[]; to: string[] }): Record<string, JsonSchema> {
  return {
    from: { description: `State of the ${kind} before.`, enum: m.from },
    to: { description: `State of the ${kind} after.`, enum: m.to },
  };
}

/** The schema of one record type. */
function recordTypeSchema(type: RecordType): JsonSchema {
  const entry = RECORD_TYPES[type];
  const f = FIELDS[type];
  const required: Record<string, JsonSchema> = { ...f.required };
  const optional: Record<string, JsonSchema> = { ...f.optional };
  const taskMove = moves(TASK_TRANSITIONS, type);
  const wsMove = moves(WORKSTREAM_TRANSITIONS, type);
  const workerMove = type.startsWith('worker_') ? moves(WORKER_TRANSITIONS, type) : null;
  if (entry.entity === 'task' && taskMove) {
    Object.assign(required, moveFields('task', taskMove));
    // The attempt a change is about, and its worker, may be named on any task transition; one that
    // ends an attempt may carry how it ended.
    const endsAttempt = taskMove.from.some((s) => ACTIVE_TASK_STATES.has(s as TaskState));
    Object.assign(optional, { attempt: ATTEMPT, worker_id: worker, ...(endsAttempt ? { outcome } : {}), ...optional });
  }
  for (const k of Object.keys(required)) delete optional[k];
  if (entry.entity === 'workstream' && wsMove) Object.assign(required, moveFields('workstream', wsMove));
  if (workerMove) Object.assign(optional, moveFields('worker', workerMove));
  const names = Object.keys(required);
  return {
    $schema: DRAFT,
    $id: `${SCHEMA_BASE}records/${type}.schema.json`,
    title: `${type} record`,
    description: `${entry.description} Default severity: ${entry.severity}.`,
    $ref: ENVELOPE_REF,
    type: 'object',
    ...(names.length > 0 ? { required: names } : {}),
    properties: {
      type: { description: 'The record type.', const: type },
      ...required,
      ...optional,
    },
    unevaluatedProperties: false,
  };
}

/** Every record type's schema, keyed by type, in catalogue order. */
export const RECORD_TYPE_SCHEMAS: { readonly [T in RecordType]: JsonSchema } = Object.fromEntries(
  RECORD_TYPE_NAMES.map((t) => [t, recordTypeSchema(t)]),
) as { [T in RecordType]: JsonSchema };

/** The names of a record type's required and optional fields, beyond the envelope. */
export function recordFields(type: RecordType): { required: string[]; optional: string[] } {
  const s = RECORD_TYPE_SCHEMAS[type];
  const required = ((s.required as string[] | undefined) ?? []).slice();
  const optional = Object.keys(s.properties as object).filter((k) => k !== 'type' && !required.includes(k));
  return { required, optional };
}
