import type { Ajv2020 } from 'ajv/dist/2020.js';
import { isRecordType } from '../model/catalogue.js';
import { createAjv, describeErrors, sortProblems, type Problem } from './ajv.js';
import { findForbiddenKeys } from './forbidden.js';
import { RECORD_SCHEMA_ID } from './record.js';
import { RECORD_TYPE_SCHEMAS } from './record-types.js';
import { SCHEMA_FILES } from './files.js';

/**
 * One validator for all of cairn's schemas, built on first use (compiling costs milliseconds, and
 * most commands never validate). Each schema is compiled once, the first time it is asked for.
 */
let ajv: Ajv2020 | undefined;

function instance(): Ajv2020 {
  if (!ajv) {
    const a = createAjv();
    for (const { schema } of SCHEMA_FILES) a.addSchema(schema);
    ajv = a;
  }
  return ajv;
}

/** Validates data against the schema with that `$id`; returns every problem, or [] when it is valid. */
export function validateWith(schemaId: string, data: unknown): Problem[] {
  const validate = instance().getSchema(schemaId);
  if (!validate) throw new Error(`internal: no schema ${schemaId}`);
  return validate(data) ? [] : describeErrors(validate.errors, data);
}

/**
 * Checks one log record (as its JSON line would hold it) against the envelope and its type's schema.
 * For the writer's own checks (tests, development) and validate_state, not for the replay loop.
 */
export function validateRecord(input: unknown): { ok: true } | { ok: false; errors: Problem[] } {
  // Judge the record as it would be written: keys holding undefined are left out of the line.
  const record: unknown = input !== null && typeof input === 'object' ? JSON.parse(JSON.stringify(input)) : input;
  const type = record !== null && typeof record === 'object' ? (record as { type?: unknown }).type : undefined;
  const id = isRecordType(type) ? (RECORD_TYPE_SCHEMAS[type].$id as string) : RECORD_SCHEMA_ID;
  const forbidden = findForbiddenKeys(record);
  const paths = new Set(forbidden.map((p) => p.path));
  const errors = sortProblems([...forbidden, ...validateWith(id, record).filter((p) => !paths.has(p.path))], record);
  return errors.length === 0 ? { ok: true } : { ok: false, errors };
}
