/**
 * JSON Schemas shared by the routes. Ids follow the CLI's rule (DESIGN §2), so a hostile id (`..`,
 * `a/b`, a NUL) is refused by the schema before any handler runs; request bodies allow no unknown
 * field (the server's ajv does not strip them silently: it refuses them).
 */
export const ID = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' } as const;

/** Any JSON object, passed through as the API returns it. */
export const OBJ = { type: 'object', additionalProperties: true } as const;
export const ANY_ARRAY = { type: 'array', items: OBJ } as const;

export const ERROR = {
  type: 'object',
  required: ['ok', 'error'],
  properties: {
    ok: { type: 'boolean', const: false },
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: OBJ, hint: { type: ['string', 'null'] } },
    },
    exit_code: { type: 'integer' },
  },
} as const;

/** Every route answers its errors with the error document; each declares its own 2xx. */
export function responses(ok: object): Record<string, object> {
  return { 200: ok, '4xx': ERROR, '5xx': ERROR };
}

export const WS_PARAMS = { type: 'object', required: ['ws'], properties: { ws: ID }, additionalProperties: false } as const;
export const TASK_PARAMS = { type: 'object', required: ['ws', 'task'], properties: { ws: ID, task: ID }, additionalProperties: false } as const;

export const TASK_SUMMARY = {
  type: 'object',
  properties: {
    id: { type: 'string' }, workstream_id: { type: 'string' }, state: { type: 'string' },
    attempt: { type: 'integer' }, retry_count: { type: 'integer' }, max_retries: { type: 'integer' }, critical: { type: 'boolean' },
    worker_id: { type: ['string', 'null'] }, started_at: { type: ['string', 'null'] }, finished_at: { type: ['string', 'null'] },
    retry_at: { type: ['string', 'null'] }, blocked_by: { type: ['string', 'null'] }, cancel_trigger: { type: ['string', 'null'] },
    last_outcome: { anyOf: [OBJ, { type: 'null' }] }, orphaned: { type: 'boolean' },
  },
} as const;

export const WORKSTREAM = {
  type: 'object',
  properties: {
    id: { type: 'string' }, state: { type: 'string' }, submitted_at: { type: 'string' }, finished_at: { type: ['string', 'null'] },
    failure: { anyOf: [OBJ, { type: 'null' }] }, params: { type: 'object', additionalProperties: { type: 'string' } },
    counts: { type: 'object', additionalProperties: { type: 'integer' } }, total: { type: 'integer' },
    tasks: { type: 'array', items: TASK_SUMMARY },
  },
} as const;

export const STATUS = {
  type: 'object',
  properties: {
    seq: { type: 'integer' }, loaded_from: { type: 'string' }, warnings: { type: 'array', items: { type: 'string' } },
    scheduler: { anyOf: [OBJ, { type: 'null' }] },
    workstreams: { type: 'array', items: WORKSTREAM },
    archived: ANY_ARRAY, workers: ANY_ARRAY, resources: ANY_ARRAY,
  },
} as const;

/** What every action answers: the CLI's --json document of the tool (records exactly as appended, or as they would be on a dry run). */
export const ACTION_RESULT = {
  type: 'object',
  properties: {
    action: { type: 'string' }, dry_run: { type: 'boolean' }, changed: { type: 'boolean' }, message: { type: 'string' },
    records: ANY_ARRAY, changes: ANY_ARRAY, scheduler: OBJ, killed: { type: 'array', items: { type: 'string' } },
    next: { type: 'array', items: { type: 'string' } }, warnings: { type: 'array', items: { type: 'string' } },
    scheduler_acted: { type: 'boolean' }, git_commit: OBJ, checkpoint: OBJ,
  },
  additionalProperties: true,
} as const;

/** The fields every action body may carry besides its own. */
export const ACTION_FIELDS = {
  reason: { type: 'string', maxLength: 2000, description: 'why: recorded on every record, as --reason' },
  dry_run: { type: 'boolean', description: 'answer with the records it would append; write nothing' },
  // The CLI takes any --operator and counts an empty one as unset; a name typed into a page gets a
  // little more: no control characters (a record's operator is printed by events and log lines).
  operator: {
    type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$',
    description: 'who acts, as --operator (default: the operator cairn serve runs as); a person\'s name on a shared dashboard',
  },
} as const;

export function body(own: Record<string, object>, required: string[] = []): object {
  return { type: 'object', additionalProperties: false, required, properties: { ...ACTION_FIELDS, ...own } };
}
