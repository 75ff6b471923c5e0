import { CairnError } from '../errors.js';
import { jsonPath, sortProblems, type Problem } from './ajv.js';
import { CONFIG_SCHEMA, DEFAULT_CONFIG, type Config } from './config-schema.js';
import { findForbiddenKeys } from './forbidden.js';
import { validateWith } from './validate.js';

export { CONFIG_SCHEMA, DEFAULT_CONFIG, MAX_WORKERS, WORKERS_DEFAULT, type Config, type ExecutorConfig } from './config-schema.js';

/** Relations between settings that a schema cannot state; each is reported at a key the file sets. */
function crossChecks(file: Record<string, unknown>, c: Config): Problem[] {
  const out: Problem[] = [];
  const at = (a: keyof Config, b: keyof Config) => jsonPath([file[a] !== undefined ? a : b]);
  if (c.heartbeat_ms >= c.health_timeout_ms) {
    out.push({ path: at('heartbeat_ms', 'health_timeout_ms'), message: `heartbeat_ms (${c.heartbeat_ms}) must be less than health_timeout_ms (${c.health_timeout_ms}), or every worker would look unresponsive` });
  }
  if (c.lock_update_ms > c.lock_stale_ms / 2) {
    out.push({ path: at('lock_update_ms', 'lock_stale_ms'), message: `lock_update_ms (${c.lock_update_ms}) must be at most lock_stale_ms / 2 (${c.lock_stale_ms / 2}), or a held lock could look stale` });
  }
  if (c.retry_cap_seconds < c.retry_base_seconds) {
    out.push({ path: at('retry_cap_seconds', 'retry_base_seconds'), message: `retry_cap_seconds (${c.retry_cap_seconds}) must be >= retry_base_seconds (${c.retry_base_seconds})` });
  }
  return out;
}

/**
 * Validates the content of config.json and fills the defaults. Throws SCHEMA_INVALID listing every
 * problem as `{ path, message }`; a bad file is never half used.
 */
export function parseConfig(obj: unknown, file = 'config.json'): Config {
  // An empty config (what `cairn init` writes) is the defaults; building the validator for it would
  // be the largest part of the start-up time of a read-only command such as `cairn status`.
  if (isEmptyObject(obj)) return { ...DEFAULT_CONFIG };
  const forbidden = findForbiddenKeys(obj);
  const paths = new Set(forbidden.map((p) => p.path));
  const problems = [...forbidden, ...validateWith(CONFIG_SCHEMA.$id as string, obj).filter((p) => !paths.has(p.path))];
  let config: Config | undefined;
  if (problems.length === 0) {
    const given = obj as Record<string, unknown>;
    config = { ...DEFAULT_CONFIG };
    for (const key of Object.keys(DEFAULT_CONFIG) as (keyof Config)[]) {
      // The schema has checked each value's type; booleans (git_commit) are copied like numbers.
      if (typeof given[key] === 'number' || typeof given[key] === 'boolean') (config as Record<keyof Config, unknown>)[key] = given[key];
    }
    if (typeof given.executor === 'object' && given.executor !== null) config.executor = { ...(given.executor as Config['executor']) };
    problems.push(...crossChecks(given, config));
  }
  if (problems.length > 0 || config === undefined) {
    const errors = sortProblems(problems, obj);
    const summary = errors.length === 1 ? `${file} has 1 problem: ${errors[0]!.path}: ${errors[0]!.message}` : `${file} has ${errors.length} problems`;
    throw new CairnError('SCHEMA_INVALID', summary, {
      details: { file, errors },
      hint: `Fix the listed keys of ${file} (schemas/config.schema.json documents each), or delete the key to use its default.`,
    });
  }
  return config;
}

function isEmptyObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && Object.keys(v).length === 0;
}
