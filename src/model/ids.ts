import { CairnError } from '../errors.js';

/** Workstream, task, worker and resource ids (DESIGN §2): checked before any id reaches a file name. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Param names: ids without `.` and `-`, so that `CAIRN_PARAM_<NAME>` is an environment variable a
 * shell can read (`$CAIRN_PARAM_CHANNEL`). The name is upper-cased in the variable (see paramEnvName).
 */
export const PARAM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_]{0,127}$/;

/**
 * Names of variables a task sets in `env`: portable shell names. Names starting with `CAIRN_` are
 * reserved for the variables cairn itself sets (`CAIRN_TASK_ID`, `CAIRN_PARAM_*`, …).
 */
export const ENV_NAME_PATTERN = /^(?!CAIRN_)[A-Za-z_][A-Za-z0-9_]{0,255}$/;

/** The environment variable a param reaches a task as: `channel` -> `CAIRN_PARAM_CHANNEL`. */
export function paramEnvName(name: string): string {
  return `CAIRN_PARAM_${name.toUpperCase()}`;
}

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** Why a value is not a valid id, in a few words; null when it is valid. */
export function idProblem(value: unknown): string | null {
  if (typeof value !== 'string') return `not a string but ${value === null ? 'null' : typeof value}`;
  if (ID_PATTERN.test(value)) return null;
  if (value.length === 0) return 'it is empty';
  if (value.length > 128) return `it has ${value.length} characters, at most 128 are allowed`;
  if (value.includes('\0')) return 'it contains a NUL character';
  if (value.includes('/') || value.includes('\\')) return 'it contains a path separator';
  if (!/^[A-Za-z0-9]/.test(value)) return `it starts with ${JSON.stringify(value[0])}; start with a letter or digit`;
  const bad = [...value].find((c) => !/[A-Za-z0-9._-]/.test(c));
  return `it contains ${JSON.stringify(bad)}; use letters, digits, '.', '_' and '-'`;
}

/** Throws BAD_ID naming the kind of id and the rule it breaks. */
export function checkId(kind: string, value: unknown): asserts value is string {
  const problem = idProblem(value);
  if (problem !== null) {
    throw new CairnError('BAD_ID', `invalid ${kind} id ${JSON.stringify(value)}: ${problem} (ids match ${ID_PATTERN.source})`, {
      details: { kind, value, pattern: ID_PATTERN.source },
      hint: 'Use letters, digits, dot, underscore and dash; start with a letter or digit; at most 128 characters.',
    });
  }
}
