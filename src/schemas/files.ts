import type { JsonSchema } from './common.js';
import { CONFIG_SCHEMA } from './config-schema.js';
import { CHECKPOINT_SCHEMA } from './files-checkpoint.js';
import { ARCHIVE_SCHEMA, CURRENT_SCHEMA } from './files-current.js';
import { METRICS_SCHEMA, WORKERS_SCHEMA } from './files-live.js';
import { RECORD_SCHEMA } from './record.js';
import { RECORD_TYPE_SCHEMAS } from './record-types.js';
import { WORKSTREAM_SCHEMA } from './workstream.js';

/**
 * Every JSON Schema cairn ships, with its file under `schemas/`. The TypeScript constants are the
 * source of truth; the files are their rendering, kept equal by test/schemas.test.ts (run it with
 * CAIRN_UPDATE_SCHEMAS=1 to rewrite them after a change).
 */
export const SCHEMA_FILES: readonly { file: string; schema: JsonSchema }[] = [
  { file: 'workstream.schema.json', schema: WORKSTREAM_SCHEMA },
  { file: 'config.schema.json', schema: CONFIG_SCHEMA },
  { file: 'current.schema.json', schema: CURRENT_SCHEMA },
  { file: 'checkpoint.schema.json', schema: CHECKPOINT_SCHEMA },
  { file: 'archive.schema.json', schema: ARCHIVE_SCHEMA },
  { file: 'metrics.schema.json', schema: METRICS_SCHEMA },
  { file: 'workers.schema.json', schema: WORKERS_SCHEMA },
  { file: 'record.schema.json', schema: RECORD_SCHEMA },
  ...Object.entries(RECORD_TYPE_SCHEMAS).map(([type, schema]) => ({ file: `records/${type}.schema.json`, schema })),
];

/** The exact bytes of a schema file: two-space JSON and a final newline. */
export function renderSchema(schema: JsonSchema): string {
  return JSON.stringify(schema, null, 2) + '\n';
}
