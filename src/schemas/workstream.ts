import { ENV_NAME_PATTERN, ID_PATTERN, PARAM_NAME_PATTERN } from '../model/ids.js';
import { closedObject, commandSchema, DRAFT, idString, NO_NUL_PATTERN, SCHEMA_BASE, type JsonSchema } from './common.js';

/**
 * The workstream spec a user writes (DESIGN §7): `schemas/workstream.schema.json`.
 * parseSpec validates with it, then checks what a schema cannot say (unknown dependencies, cycles,
 * undeclared resources) and fills the defaults listed in each description.
 */

/** Built-in task defaults, used when neither the task nor the spec's `defaults` sets a field. */
export const TASK_DEFAULTS = {
  critical: false,
  priority: 0,
  timeout_seconds: null,
  max_retries: 3,
  retry_base_seconds: 1,
  retry_cap_seconds: 300,
  cwd: null,
} as const;

/**
 * Upper bounds of the counts and durations of a spec, so a huge value is refused (exit 2) instead of
 * overflowing a timer: Node fires a setTimeout longer than 2^31-1 ms (24.8 days) at once.
 * - timeout_seconds: 7 days. Tasks are meant to take minutes; a week is far past any real one and
 *   well inside a timer's range.
 * - retry_base_seconds, retry_cap_seconds: 1 day. A wait longer than that is a schedule, not a retry.
 * - max_retries: 100. Each retry is an attempt with its own log; past 100 a task is broken, not unlucky.
 * - priority: -1,000,000 to 1,000,000, plenty of room between levels and exact in every comparison.
 * - max_holders and units: 1,000,000, more than any machine or cluster has slots.
 */
export const SPEC_LIMITS = {
  timeout_seconds: 7 * 24 * 3600,
  retry_seconds: 24 * 3600,
  max_retries: 100,
  priority: 1_000_000,
  holders: 1_000_000,
  /** cpus, memory_mb, gpus: past these a value is a typo (no cluster node has 4,096 cores or 64 TB). */
  cpus: 4096,
  memory_mb: 64 * 1024 * 1024,
  gpus: 64,
} as const;

const scalar = ['string', 'number', 'boolean'];

/** Task fields that `defaults` may also set. */
function defaultable(): Record<string, JsonSchema> {
  return {
    critical: {
      description: 'When true, a failure of this task fails the whole workstream at once and cancels its other tasks. Default false.',
      type: 'boolean',
    },
    priority: {
      description: `Among ready tasks, higher priority runs first (then the longer remaining path, then definition order). From -${SPEC_LIMITS.priority} to ${SPEC_LIMITS.priority}. Default 0.`,
      type: 'integer',
      minimum: -SPEC_LIMITS.priority,
      maximum: SPEC_LIMITS.priority,
    },
    timeout_seconds: {
      description: `Seconds an attempt may run before its process group gets SIGTERM, then SIGKILL; the attempt counts as failed (task_timed_out). At most ${SPEC_LIMITS.timeout_seconds} (7 days). null: no limit. Default null.`,
      type: ['number', 'null'],
      exclusiveMinimum: 0,
      maximum: SPEC_LIMITS.timeout_seconds,
    },
    max_retries: {
      description: `How many times a failed attempt is retried automatically before the task fails (so at most max_retries + 1 attempts). At most ${SPEC_LIMITS.max_retries}. Default 3.`,
      type: 'integer',
      minimum: 0,
      maximum: SPEC_LIMITS.max_retries,
    },
    retry_base_seconds: {
      description: `Backoff base: retry n (from 0) waits min(retry_cap_seconds, retry_base_seconds * 2^n). At most ${SPEC_LIMITS.retry_seconds} (1 day). Default: .state/config.json, else 1.`,
      type: 'number',
      minimum: 0,
      maximum: SPEC_LIMITS.retry_seconds,
    },
    retry_cap_seconds: {
      description: `Longest wait between two attempts; must be >= retry_base_seconds. At most ${SPEC_LIMITS.retry_seconds} (1 day). Default: .state/config.json, else 300.`,
      type: 'number',
      minimum: 0,
      maximum: SPEC_LIMITS.retry_seconds,
    },
    cwd: {
      description: 'Working directory of the command; a relative path is taken from the directory cairn runs in. null: that directory. Default null.',
      type: ['string', 'null'],
      minLength: 1,
      pattern: NO_NUL_PATTERN,
    },
    cpus: {
      description: 'CPUs an attempt asks of an allocating executor (Slurm: --cpus-per-task). The local executor ignores it. Default: not asked.',
      type: 'integer',
      minimum: 1,
      maximum: SPEC_LIMITS.cpus,
    },
    memory_mb: {
      description: 'Memory in MB an attempt asks of an allocating executor (Slurm: --mem). The local executor ignores it. Default: not asked.',
      type: 'integer',
      minimum: 1,
      maximum: SPEC_LIMITS.memory_mb,
    },
    gpus: {
      description: 'GPUs an attempt asks of an allocating executor (Slurm: --gpus). The local executor ignores it. Default: not asked.',
      type: 'integer',
      minimum: 0,
      maximum: SPEC_LIMITS.gpus,
    },
    env: {
      description: 'Extra environment variables for the command. Numbers and booleans are turned into strings. A task\'s env is merged over the defaults\' env. Names starting with CAIRN_ are reserved. NAME=value is at most 128 KiB (Linux MAX_ARG_STRLEN), like each argument of the command.',
      type: 'object',
      propertyNames: { description: 'A portable variable name.', pattern: ENV_NAME_PATTERN.source },
      additionalProperties: { description: 'The value (a number or boolean is written as JSON writes it).', type: scalar, pattern: NO_NUL_PATTERN },
    },
  };
}

const task = closedObject(
  'One task: a shell command with its dependencies, resources and retry policy. Unknown keys are errors.',
  {
    id: idString('Task id, unique in the workstream; a task is addressed as <workstream_id>/<task_id>.'),
    command: commandSchema('The command: a string runs under /bin/sh -c; an array runs without a shell, its first item the program. Ids and params are never pasted into it: read CAIRN_WORKSTREAM_ID, CAIRN_TASK_ID, CAIRN_ATTEMPT and CAIRN_PARAM_<NAME> from the environment.'),
    depends_on: {
      description: 'Ids of the tasks that must be completed (or skipped, or cancelled) before this one is queued. No duplicates, no self, no cycles. Default [].',
      type: 'array',
      uniqueItems: true,
      items: idString('A task id of the same workstream.'),
    },
    resources: {
      description: 'Resources the task holds while it runs, all taken at once: a list of names (one unit each) or a map of name to units. Each must be declared in the top-level resources. Default {}.',
      type: ['array', 'object'],
      uniqueItems: true,
      items: idString('A resource name; the task takes one unit.'),
      propertyNames: idString('A resource name.'),
      additionalProperties: { description: `Units taken; at most the resource's max_holders (and ${SPEC_LIMITS.holders}).`, type: 'integer', minimum: 1, maximum: SPEC_LIMITS.holders },
    },
    ...defaultable(),
    validate: commandSchema('A command run after the command exits 0, on the same worker; the task completes only if it exits 0 too. A failed validation fails the task without automatic retry. null: none. Default null.', true),
  },
  ['id', 'command'],
);

export const WORKSTREAM_SCHEMA: JsonSchema = {
  $schema: DRAFT,
  $id: `${SCHEMA_BASE}workstream.schema.json`,
  title: 'cairn workstream spec',
  description: 'A workstream: a DAG of shell tasks sharing named resources, submitted with `cairn submit` or `cairn run`. Every problem is reported with its JSON path, and nothing is written when the spec is invalid. Unknown keys are errors.',
  type: 'object',
  required: ['tasks'],
  properties: {
    $schema: { description: 'The schema this file follows, for editors; ignored by cairn.', type: 'string' },
    id: idString(`Workstream id, matching ${ID_PATTERN.source}. Default: ws-<ULID>.`),
    params: {
      description: `Parameters given to every task as environment variables CAIRN_PARAM_<NAME>, NAME upper-cased (channel -> CAIRN_PARAM_CHANNEL); two names that differ only in case are an error. Names match ${PARAM_NAME_PATTERN.source}. Numbers and booleans are turned into strings. As a variable (CAIRN_PARAM_NAME=value) each is at most 128 KiB (Linux MAX_ARG_STRLEN), and a task's params, env and command together at most 2 MiB (ARG_MAX): pass large data in a file. Default {}.`,
      type: 'object',
      propertyNames: { description: 'A param name.', pattern: PARAM_NAME_PATTERN.source },
      additionalProperties: { description: 'The value (a number or boolean is written as JSON writes it).', type: scalar, pattern: NO_NUL_PATTERN },
    },
    defaults: closedObject('Defaults for every task that does not set the field itself.', defaultable()),
    resources: {
      description: 'Named resources tasks share; a task waits in queued until it can take all of its resources at once. Default {}.',
      type: 'object',
      propertyNames: idString('A resource name.'),
      additionalProperties: closedObject('A resource.', {
        max_holders: {
          description: `How many units may be held at once (1: a mutex), at most ${SPEC_LIMITS.holders}. null: unlimited. Default 1.`,
          type: ['integer', 'null'],
          minimum: 1,
          maximum: SPEC_LIMITS.holders,
        },
      }),
    },
    tasks: {
      description: 'The tasks, in definition order (the last tie-breaker among ready tasks). At least one.',
      type: 'array',
      minItems: 1,
      items: task,
    },
  },
  additionalProperties: false,
};
