import { ID_PATTERN } from '../model/ids.js';
import type { FailureKind } from '../model/types.js';
import { closedObject, DRAFT, SCHEMA_BASE, type JsonSchema } from './common.js';
import { RECORD_SCHEMA } from './record.js';

/**
 * Building blocks of the schemas of cairn's derived files (current.json, checkpoints, archive,
 * metrics.json, workers.json). Those files are written from TypeScript types, so each schema below
 * is built from a map keyed by the type's fields: a field added to the type without a schema, or a
 * schema for a field the type lacks, does not compile.
 */

/** One schema per field of T, every field required (the writers always write every field). */
export type FieldSchemas<T> = { [K in keyof Required<T>]: JsonSchema };

const ID_BODY = ID_PATTERN.source.slice(1, -1);

/** `<workstream_id>/<task_id>`: how a worker, a resource or the metrics name a task. */
export const TASK_KEY_PATTERN = `^${ID_BODY}/${ID_BODY}$`;

/** A checkpoint's content hash: `sha256:` and 64 lower-case hex digits. */
export const HASH_PATTERN = '^sha256:[0-9a-f]{64}$';

/** A closed object that requires every one of its fields. */
export function allRequired(description: string, fields: Record<string, JsonSchema>): JsonSchema {
  return closedObject(description, fields, Object.keys(fields));
}

/** The same schema, also allowing null (its `type` gains 'null'). */
export function orNull(schema: JsonSchema, description?: string): JsonSchema {
  const type = ([] as unknown[]).concat(schema.type ?? []);
  if (type.length === 0) throw new Error('internal: orNull needs a schema with a type');
  return { ...schema, ...(description !== undefined ? { description } : {}), type: [...type, 'null'] };
}

/** A non-negative integer. */
export function count(description: string): JsonSchema {
  return { description, type: 'integer', minimum: 0 };
}

/** A position in the log (a record's seq); pass minimum 0 where "before the first record" is possible. */
export function seq(description: string, minimum = 1): JsonSchema {
  return { description, type: 'integer', minimum };
}

/** A JSON object used as a map: keys matching `keys`, each value matching `values`. */
export function mapOf(description: string, keys: JsonSchema, values: JsonSchema): JsonSchema {
  return { description, type: 'object', propertyNames: keys, additionalProperties: values };
}

/** One count per state, every state present: how many are in each. */
export function countsByState(description: string, states: readonly string[], each: (state: string) => string): JsonSchema {
  return allRequired(description, Object.fromEntries(states.map((s) => [s, count(each(s))])));
}

/** `<workstream_id>/<task_id>` as a string. */
export function taskKey(description: string): JsonSchema {
  return { description, type: 'string', pattern: TASK_KEY_PATTERN };
}

/** Follows a path of keys into a schema constant; throws at load time if the path is gone. */
export function schemaAt(root: JsonSchema, ...keys: string[]): JsonSchema {
  let node: unknown = root;
  for (const k of keys) {
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined;
    if (node === undefined) throw new Error(`internal: no schema at ${keys.join('/')}`);
  }
  return node as JsonSchema;
}

/** A field of a normalized task definition, as record.schema.json gives it for workstream_submitted. */
export function taskDefField(field: string, description: string): JsonSchema {
  return { ...schemaAt(RECORD_SCHEMA, '$defs', 'spec', 'properties', 'tasks', 'items', 'properties', field), description };
}

/** How an attempt ended, as record.schema.json gives it, or null. */
export function outcomeOrNull(description: string): JsonSchema {
  return orNull(schemaAt(RECORD_SCHEMA, '$defs', 'outcome'), description);
}

/** The schema of a whole file: a closed object requiring every field, with $defs last. */
export function fileSchema(o: { file: string; title: string; description: string; fields: Record<string, JsonSchema>; defs?: Record<string, JsonSchema> }): JsonSchema {
  return {
    $schema: DRAFT,
    $id: `${SCHEMA_BASE}${o.file}`,
    title: o.title,
    ...allRequired(o.description, o.fields),
    ...(o.defs ? { $defs: o.defs } : {}),
  };
}

/** Every kind of bad end of an attempt, in the order metrics list them. */
export const FAILURE_KINDS = ['exit', 'timeout', 'signal', 'spawn_error', 'worker_lost', 'validation', 'cancelled'] as const satisfies readonly FailureKind[];

/** A comma-separated list of whole milliseconds (metrics' duration lists), '' for none. */
export function MS_LIST(description: string): JsonSchema {
  return { description, type: 'string', pattern: '^(-?[0-9]+(,-?[0-9]+)*)?$' };
}
