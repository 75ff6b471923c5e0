import { CairnError } from '../errors.js';
import { duplicateKeys } from '../log/duplicate-keys.js';
import { jsonPath, sortProblems, type Problem } from '../schemas/ajv.js';
import { findForbiddenKeys } from '../schemas/forbidden.js';
import { validateWith } from '../schemas/validate.js';
import { TASK_DEFAULTS, WORKSTREAM_SCHEMA } from '../schemas/workstream.js';
import { checkId } from './ids.js';
import { checkSpecSemantics } from './spec-check.js';
import type { Command, TaskDef, WorkstreamSpec } from './types.js';

/**
 * Reading a workstream spec (DESIGN §7). A spec is accepted whole or not at all: every problem —
 * schema, unknown dependency, undeclared resource, cycle — is collected and reported together with
 * its JSON path, and the normalized spec fills every default so replay never has to guess one.
 */
export interface ParseSpecOptions {
  /** The id of a spec that names none; the caller makes it `ws-<ULID>`. */
  defaultId: () => string;
  /** Backoff defaults from `.state/config.json`, used when neither task nor spec defaults set them. */
  config?: { retry_base_seconds?: number; retry_cap_seconds?: number };
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Validates and normalizes a spec. Throws SCHEMA_INVALID (or DAG_CYCLE when cycles are the only
 * problems) whose `details.errors` lists every problem as `{ path, message }`.
 */
export function parseSpec(input: unknown, opts: ParseSpecOptions): WorkstreamSpec {
  return parseChecked(input, opts, 'spec');
}

/** Parses spec text read from `file`; invalid JSON is reported with its line and column. */
export function parseSpecText(text: string, file: string, opts: ParseSpecOptions): WorkstreamSpec {
  let input: unknown;
  try {
    input = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    const where = jsonErrorPosition(text, err);
    const detail = err instanceof Error ? err.message : String(err);
    const message = where ? `invalid JSON at line ${where.line}, column ${where.column}: ${detail}` : `invalid JSON: ${detail}`;
    throw new CairnError('SCHEMA_INVALID', `${file}: ${message}`, {
      details: { file, ...(where ?? {}), errors: [{ path: '$', message }] },
      hint: `Fix the JSON syntax of ${file} (a missing comma or quote, or a trailing comma, is usual).`,
    });
  }
  // JSON.parse kept the last of any repeated key; which one the author meant is anyone's guess.
  const repeated: Problem[] = duplicateKeys(text).map((d) => ({
    path: jsonPath([...d.path, d.key]),
    message: `duplicate key ${JSON.stringify(d.key)}: JSON keeps only the last one, so what it means is ambiguous; write it once`,
  }));
  return parseChecked(input, opts, file, repeated);
}

function parseChecked(input: unknown, opts: ParseSpecOptions, what: string, repeated: Problem[] = []): WorkstreamSpec {
  const retry = {
    base: opts.config?.retry_base_seconds ?? TASK_DEFAULTS.retry_base_seconds,
    cap: opts.config?.retry_cap_seconds ?? TASK_DEFAULTS.retry_cap_seconds,
  };
  const forbidden = findForbiddenKeys(input);
  const forbiddenPaths = new Set(forbidden.map((p) => p.path));
  const schema = validateWith(WORKSTREAM_SCHEMA.$id as string, input).filter((p) => !forbiddenPaths.has(p.path));
  const semantic = isObj(input) ? checkSpecSemantics(input, retry) : { problems: [], cycles: [] };
  const problems = [...repeated, ...forbidden, ...schema, ...semantic.problems];
  if (problems.length > 0 || semantic.cycles.length > 0) throw specError(what, input, problems, semantic.cycles);
  return normalize(input as Obj, opts.defaultId, retry);
}

function specError(what: string, input: unknown, problems: Problem[], cycles: Problem[]): CairnError {
  const errors = sortProblems([...problems, ...cycles], input);
  if (problems.length === 0) {
    const list = cycles.map((c) => c.message.replace(/^dependency cycle: /, '')).join('; ');
    return new CairnError('DAG_CYCLE', `${what} has a dependency cycle: ${list}`, {
      details: { errors },
      hint: 'Remove one depends_on entry of each cycle listed (a -> b means a depends on b).',
    });
  }
  const n = errors.length;
  const summary = n === 1 ? `${what} has 1 problem: ${errors[0]!.path}: ${errors[0]!.message}` : `${what} has ${n} problems`;
  return new CairnError('SCHEMA_INVALID', summary, {
    details: { errors },
    hint: 'Fix each listed path and submit again; schemas/workstream.schema.json documents every field. Nothing was written.',
  });
}

/** Line and column (1-based) of a JSON.parse error, from V8's "at position N" or "(line L column C)". */
function jsonErrorPosition(text: string, err: unknown): { line: number; column: number } | null {
  const msg = err instanceof Error ? err.message : '';
  const lc = /line (\d+) column (\d+)/.exec(msg);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const pos = /at position (\d+)/.exec(msg);
  let offset: number;
  if (pos) offset = Number(pos[1]);
  else if (/Unexpected end of JSON input/.test(msg)) offset = text.length;
  else return null;
  const before = text.replace(/^\uFEFF/, '').slice(0, offset);
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

function copyCommand(c: unknown): Command {
  return Array.isArray(c) ? c.map(String) : String(c);
}

/** Scalars become strings as JSON writes them (3 -> "3", true -> "true"). */
function stringMap(m: unknown): Record<string, string> {
  if (!isObj(m)) return {};
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]));
}

/** The first of task, defaults, fallback that is set; null counts as set (it means "none"). */
function pick<T>(t: Obj, d: Obj, key: string, fallback: T): T {
  if (t[key] !== undefined) return t[key] as T;
  if (d[key] !== undefined) return d[key] as T;
  return fallback;
}

function normalizeTask(t: Obj, d: Obj, retry: { base: number; cap: number }): TaskDef {
  const res = t.resources;
  const resources: Record<string, number> = Array.isArray(res)
    ? Object.fromEntries(res.map((name) => [String(name), 1]))
    : isObj(res) ? Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Number(v)])) : {};
  return {
    id: t.id as string,
    command: copyCommand(t.command),
    depends_on: Array.isArray(t.depends_on) ? t.depends_on.map(String) : [],
    resources,
    critical: pick(t, d, 'critical', TASK_DEFAULTS.critical),
    priority: pick(t, d, 'priority', TASK_DEFAULTS.priority),
    timeout_seconds: pick<number | null>(t, d, 'timeout_seconds', TASK_DEFAULTS.timeout_seconds),
    max_retries: pick(t, d, 'max_retries', TASK_DEFAULTS.max_retries),
    retry_base_seconds: pick(t, d, 'retry_base_seconds', retry.base),
    retry_cap_seconds: pick(t, d, 'retry_cap_seconds', retry.cap),
    validate: t.validate === undefined || t.validate === null ? null : copyCommand(t.validate),
    cwd: pick<string | null>(t, d, 'cwd', TASK_DEFAULTS.cwd),
    env: { ...stringMap(d.env), ...stringMap(t.env) },
    ...allocationOf(t, d),
  };
}

/** cpus, memory_mb and gpus from the task or the defaults, only those set. */
function allocationOf(t: Obj, d: Obj): Pick<TaskDef, 'cpus' | 'memory_mb' | 'gpus'> {
  const out: Pick<TaskDef, 'cpus' | 'memory_mb' | 'gpus'> = {};
  for (const k of ['cpus', 'memory_mb', 'gpus'] as const) {
    const v = pick<number | undefined>(t, d, k, undefined);
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

function normalize(input: Obj, defaultId: () => string, retry: { base: number; cap: number }): WorkstreamSpec {
  const id = typeof input.id === 'string' ? input.id : defaultId();
  checkId('workstream', id);
  const d = isObj(input.defaults) ? input.defaults : {};
  const resources: WorkstreamSpec['resources'] = Object.fromEntries(
    Object.entries(isObj(input.resources) ? input.resources : {}).map(([name, r]) => {
      const max = (r as Obj).max_holders;
      return [name, { max_holders: max === undefined ? 1 : (max as number | null) }];
    }),
  );
  return {
    id,
    params: stringMap(input.params),
    resources,
    tasks: (input.tasks as Obj[]).map((t) => normalizeTask(t, d, retry)),
  };
}
