import { sortProblems, type Problem } from './ajv.js';
import { CHECKPOINT_SCHEMA } from './files-checkpoint.js';
import { ARCHIVE_SCHEMA, CURRENT_SCHEMA } from './files-current.js';
import { METRICS_SCHEMA, WORKERS_SCHEMA } from './files-live.js';
import { validateWith } from './validate.js';

/** The derived files of a state folder that have a schema, by kind. */
export const STATE_FILE_SCHEMAS = {
  current: CURRENT_SCHEMA,
  checkpoint: CHECKPOINT_SCHEMA,
  archive: ARCHIVE_SCHEMA,
  metrics: METRICS_SCHEMA,
  workers: WORKERS_SCHEMA,
} as const;

export type StateFileKind = keyof typeof STATE_FILE_SCHEMAS;

/**
 * Checks the parsed content of a derived file against its schema; returns every problem with its
 * JSON path, in the order they appear in the file, or [] when the file is valid. For
 * validate_state and tests, not for loading (the loader's own shape checks are faster).
 */
export function validateStateFile(kind: StateFileKind, doc: unknown): Problem[] {
  return sortProblems(validateWith(STATE_FILE_SCHEMAS[kind].$id as string, doc), doc);
}
