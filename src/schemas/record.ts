import { RECORD_TYPE_NAMES } from '../model/catalogue.js';
import {
  closedObject, commandSchema, CRC_PATTERN, DRAFT, ENV_NAME, idString, NO_NUL_PATTERN, PARAM_NAME, SCHEMA_BASE,
  timestamp, ulid, type JsonSchema,
} from './common.js';

/**
 * The common envelope of every line of `.state/transitions.jsonl` (DESIGN §3):
 * `schemas/record.schema.json`. It is open: each record type adds its entity fields in
 * `schemas/records/<type>.schema.json`, which refers to this one and closes the record.
 */
export const RECORD_SCHEMA_ID = `${SCHEMA_BASE}record.schema.json`;

const OUTCOME = closedObject(
  'How an attempt ended, as a value: an exit code, a signal, a timeout, an error starting it, a lost worker, a failed validation or a cancellation.',
  {
    kind: { description: 'What ended the attempt.', enum: ['exit', 'signal', 'timeout', 'spawn_error', 'worker_lost', 'validation', 'cancelled'] },
    exit_code: { description: 'Exit code of the process, or null when it did not exit by itself.', type: ['integer', 'null'] },
    signal: { description: 'Signal that ended the process (SIGTERM, SIGKILL, …), or null.', type: ['string', 'null'] },
    duration_ms: { description: 'Wall time of the attempt in milliseconds.', type: 'number', minimum: 0 },
    message: { description: 'A short human explanation (the spawn error, the timeout), or null.', type: ['string', 'null'] },
    errno: { description: 'For a spawn_error the OS reported: its error code (E2BIG, ENOENT, EACCES, …). Absent otherwise and in older logs.', type: 'string', pattern: '^E[A-Z0-9]+$' },
  },
  ['kind', 'exit_code', 'signal', 'duration_ms', 'message'],
);

/** A spec after parseSpec: every field present, resources as a map of units. */
const NORMALIZED_TASK = closedObject(
  'A task definition with every default filled in.',
  {
    id: idString('Task id.'),
    command: commandSchema('The command: a string for /bin/sh -c, or an argv array.'),
    depends_on: { description: 'Ids of the tasks it depends on.', type: 'array', uniqueItems: true, items: idString('A task id.') },
    resources: {
      description: 'Resource name to units held while running.',
      type: 'object',
      propertyNames: idString('A resource name.'),
      additionalProperties: { description: 'Units.', type: 'integer', minimum: 1 },
    },
    critical: { description: 'A failure fails the workstream.', type: 'boolean' },
    priority: { description: 'Higher runs first.', type: 'integer' },
    timeout_seconds: { description: 'Limit of one attempt, or null for none.', type: ['number', 'null'], exclusiveMinimum: 0 },
    max_retries: { description: 'Automatic retries allowed.', type: 'integer', minimum: 0 },
    retry_base_seconds: { description: 'Backoff base.', type: 'number', minimum: 0 },
    retry_cap_seconds: { description: 'Backoff cap.', type: 'number', minimum: 0 },
    validate: commandSchema('Validation command, or null.', true),
    cwd: { description: 'Working directory, or null.', type: ['string', 'null'], minLength: 1, pattern: NO_NUL_PATTERN },
    env: {
      description: 'Extra environment variables.',
      type: 'object',
      propertyNames: { description: 'A variable name.', pattern: ENV_NAME },
      additionalProperties: { description: 'Its value.', type: 'string', pattern: NO_NUL_PATTERN },
    },
    cpus: { description: 'CPUs asked of an allocating executor (absent: not asked).', type: 'integer', minimum: 1 },
    memory_mb: { description: 'Memory in MB asked of an allocating executor (absent: not asked).', type: 'integer', minimum: 1 },
    gpus: { description: 'GPUs asked of an allocating executor (absent: not asked).', type: 'integer', minimum: 0 },
  },
  ['id', 'command', 'depends_on', 'resources', 'critical', 'priority', 'timeout_seconds', 'max_retries',
    'retry_base_seconds', 'retry_cap_seconds', 'validate', 'cwd', 'env'],
);

const NORMALIZED_SPEC = closedObject(
  'The workstream spec as parseSpec normalized it (see workstream.schema.json for the meaning of each field).',
  {
    id: idString('Workstream id.'),
    params: {
      description: 'Params, all strings.',
      type: 'object',
      propertyNames: { description: 'A param name.', pattern: PARAM_NAME },
      additionalProperties: { description: 'Its value.', type: 'string', pattern: NO_NUL_PATTERN },
    },
    resources: {
      description: 'Resources the spec declares.',
      type: 'object',
      propertyNames: idString('A resource name.'),
      additionalProperties: closedObject('A resource.', {
        max_holders: { description: 'Units at once, or null for unlimited.', type: ['integer', 'null'], minimum: 1 },
      }, ['max_holders']),
    },
    tasks: { description: 'Tasks in definition order.', type: 'array', minItems: 1, items: NORMALIZED_TASK },
  },
  ['id', 'params', 'resources', 'tasks'],
);

export const RECORD_SCHEMA: JsonSchema = {
  $schema: DRAFT,
  $id: RECORD_SCHEMA_ID,
  title: 'cairn log record',
  description: 'One line of .state/transitions.jsonl, the only source of truth. Keys are written in a fixed order and crc comes last. The envelope fields are listed here (action, trigger and rebased_from may appear on any record); each record type adds its own fields: see records/<type>.schema.json.',
  type: 'object',
  required: ['seq', 'id', 'ts', 'type', 'severity', 'operator', 'crc'],
  properties: {
    seq: { description: 'Position in the log: 1, 2, 3 … with no gaps.', type: 'integer', minimum: 1 },
    id: ulid('Unique id of the record (ULID).'),
    ts: timestamp('When the record was written: ISO-8601, UTC, milliseconds.'),
    type: { description: 'What happened; one of the record types of the catalogue (src/model/catalogue.ts).', enum: [...RECORD_TYPE_NAMES] },
    severity: { description: 'How much an operator should care.', enum: ['info', 'warning', 'error', 'critical'] },
    operator: { description: 'Who asked for it (from --operator or $USER), or null when cairn did it by itself.', type: ['string', 'null'] },
    reason: { description: 'Why, in words (--reason, or what cairn observed).', type: 'string' },
    caused_by: ulid('Id of the record that triggered this one.'),
    batch: {
      description: 'On the first record of a decision made of several records: how many records it has. A log that ends before all of them are there ends in a torn tail, set aside as a whole, so a decision is never half applied.',
      type: 'integer',
      minimum: 2,
    },
    action: {
      description: 'The operator command or recovery tool that wrote the record (skip_task, retry_task, …), so interventions.log can be rebuilt from the log.',
      type: 'string',
      minLength: 1,
    },
    rebased_from: closedObject(
      'On a record the git merge driver decided again on this branch: the first record of the other branch\'s decision it came from (a merge skips decisions whose id or rebased_from this branch already has, so merging either way converges).',
      { id: ulid('Id of that record.'), seq: { description: 'Its seq on the other branch.', type: 'integer', minimum: 1 } },
      ['id', 'seq'],
    ),
    trigger: {
      description: 'What caused the change, in one snake_case word (dependencies_met, retry_due, worker_lost, critical_failure, …).',
      type: 'string',
      minLength: 1,
    },
    crc: {
      description: "CRC-32 of the line's bytes without the crc field, chained with the previous record's crc, as 8 lower-case hex digits.",
      type: 'string',
      pattern: CRC_PATTERN,
    },
  },
  $defs: {
    outcome: OUTCOME,
    spec: NORMALIZED_SPEC,
  },
};
