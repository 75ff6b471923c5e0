import { TASK_STATES } from '../model/states.js';
import type { CheckpointDoc } from '../store/snapshot.js';
import { SCHEMA_VERSION } from '../store/snapshot.js';
import { idString, timestamp, type JsonSchema } from './common.js';
import { allRequired, count, type FieldSchemas, fileSchema, HASH_PATTERN, mapOf, seq } from './files-common.js';

const taskIds = (description: string): JsonSchema => ({ description, type: 'array', uniqueItems: true, items: idString('A task id.') });

const CHECKPOINT: FieldSchemas<CheckpointDoc> = {
  schema_version: {
    description: `Version of the file format; this cairn writes and reads ${SCHEMA_VERSION}.`,
    const: SCHEMA_VERSION,
  },
  workstream_id: idString('The workstream this checkpoint is of.'),
  seq: seq('seq of the task transition the checkpoint is taken as of; rollback_workstream --to-checkpoint <seq> names it.'),
  checkpoint_at: timestamp('ts of that record.'),
  previous: {
    description: 'seq of the checkpoint file of this workstream written before this one; null when none was on disk. validate-state follows it from <workstream_id>_latest.json to oldest_kept, so a deleted checkpoint file is noticed.',
    anyOf: [{ type: 'integer', minimum: 0 }, { type: 'null' }],
  },
  oldest_kept: seq('seq of the oldest checkpoint file of this workstream left on disk when this one was written (the newest checkpoints_keep are kept).'),
  tasks: mapOf(
    'Every task of the workstream, keyed by id.',
    idString('A task id.'),
    allRequired('What rollback_workstream restores of the task.', {
      state: { description: 'Its state (DESIGN §2).', enum: [...TASK_STATES] },
      retry_count: count('Automatic retries it had spent.'),
    }),
  ),
  completed_tasks: taskIds('Ids of the completed tasks, in definition order.'),
  failed_tasks: taskIds('Ids of the failed tasks, in definition order.'),
  pending_tasks: taskIds('Ids of the tasks not yet finished (any state but completed, failed, skipped and cancelled), in definition order.'),
  resources_held: mapOf(
    'Resources held by running or validating tasks: resource name to the ids of the tasks holding it.',
    idString('A resource name.'),
    taskIds('Ids of the tasks holding it.'),
  ),
  hash: {
    description: 'sha256: and the hex SHA-256 of the canonical compact JSON (sorted keys) of every other field; a checkpoint whose hash does not match is refused.',
    type: 'string',
    pattern: HASH_PATTERN,
  },
};

/** checkpoints/<ws>_latest.json and checkpoints/<ws>/<seq>.json. */
export const CHECKPOINT_SCHEMA: JsonSchema = fileSchema({
  file: 'checkpoint.schema.json',
  title: 'cairn checkpoint (.state/checkpoints/<workstream_id>/<seq>.json and <workstream_id>_latest.json)',
  description: 'One workstream as of a task transition, the point rollback_workstream returns to. Written with the snapshot (never one synchronous file per transition); <workstream_id>_latest.json is a copy of the newest, and the newest checkpoints_keep (20) per workstream are kept. Derived from transitions.jsonl.',
  fields: CHECKPOINT,
});
