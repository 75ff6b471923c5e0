import { ENV_NAME_PATTERN, ID_PATTERN, PARAM_NAME_PATTERN } from '../model/ids.js';

/**
 * Building blocks shared by cairn's JSON Schemas (draft 2020-12). The schemas are TypeScript
 * constants so the code needs no file at run time; `schemas/*.json` are their rendering, and a test
 * keeps the two byte-for-byte equal (see files.ts).
 */
export type JsonSchema = { [key: string]: unknown };

export const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

/** Base of every `$id`. A name, not a place: nothing is fetched from it. */
export const SCHEMA_BASE = 'https://cairn.invalid/schemas/';

export const ID = ID_PATTERN.source;
export const PARAM_NAME = PARAM_NAME_PATTERN.source;
export const ENV_NAME = ENV_NAME_PATTERN.source;
export const ULID_PATTERN = '^[0-7][0-9A-HJKMNP-TV-Z]{25}$';
export const TIMESTAMP_PATTERN =
  '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z$';
export const CRC_PATTERN = '^[0-9a-f]{8}$';
/** A string with no NUL character (it could not be passed to a process). */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';
/** A string with no NUL character and at least one non-blank character. */
export const NOT_BLANK_PATTERN = '^[^\\u0000]*[^\\u0000\\s][^\\u0000]*$';

/**
 * What each pattern means in words: ajv reports "must match pattern …", users read these instead.
 * Keyed by the pattern's source as it appears in the schema.
 */
export const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  [ID_PATTERN.source]: `id must match ${ID_PATTERN.source}`,
  [PARAM_NAME_PATTERN.source]: `param name must match ${PARAM_NAME_PATTERN.source} (it becomes CAIRN_PARAM_<NAME>)`,
  [ENV_NAME_PATTERN.source]: 'variable name must match ^[A-Za-z_][A-Za-z0-9_]*$ and must not start with CAIRN_ (reserved for cairn)',
  [ULID_PATTERN]: 'must be a ULID (26 characters of Crockford base32, upper case)',
  [TIMESTAMP_PATTERN]: 'must be an ISO-8601 UTC time with milliseconds, like 2024-01-15T10:40:00.000Z',
  [CRC_PATTERN]: 'must be 8 lower-case hex digits',
  [NO_NUL_PATTERN]: 'must not contain a NUL character',
  [NOT_BLANK_PATTERN]: 'must not be blank and must not contain a NUL character',
};

export function idString(description: string): JsonSchema {
  return { description, type: 'string', pattern: ID_PATTERN.source };
}

export function timestamp(description: string): JsonSchema {
  return { description, type: 'string', pattern: TIMESTAMP_PATTERN };
}

export function ulid(description: string): JsonSchema {
  return { description, type: 'string', pattern: ULID_PATTERN };
}

/** An object schema that refuses unknown keys. */
export function closedObject(description: string, properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return {
    description,
    type: 'object',
    ...(required.length > 0 ? { required } : {}),
    properties,
    additionalProperties: false,
  };
}

/** A command: a non-blank string run by /bin/sh -c, or an argv array whose first item is the program. */
export function commandSchema(description: string, nullable = false): JsonSchema {
  return {
    description,
    type: nullable ? ['string', 'array', 'null'] : ['string', 'array'],
    pattern: NOT_BLANK_PATTERN,
    minItems: 1,
    prefixItems: [{ description: 'The program to run, looked up in PATH.', type: 'string', pattern: NOT_BLANK_PATTERN }],
    items: { description: 'An argument, passed as is (no shell).', type: 'string', pattern: NO_NUL_PATTERN },
  };
}
