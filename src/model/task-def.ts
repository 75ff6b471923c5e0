import type { TaskDef } from './types.js';

/**
 * A task's definition as an operator may change it (update-task, submit --update): every field of
 * TaskDef but its id. Comparing, copying and describing definitions goes through this list, so a
 * field added to TaskDef and not here fails to compile (see the check below).
 */
export const DEF_FIELDS = [
  'command', 'validate', 'depends_on', 'resources', 'critical', 'priority', 'timeout_seconds',
  'max_retries', 'retry_base_seconds', 'retry_cap_seconds', 'cwd', 'env', 'cpus', 'memory_mb', 'gpus',
] as const satisfies readonly (keyof TaskDef)[];

export type DefField = (typeof DEF_FIELDS)[number];

// Compile-time: DEF_FIELDS names every field of TaskDef except id.
type Missing = Exclude<keyof TaskDef, DefField | 'id'>;
const complete: [Missing] extends [never] ? true : Missing = true;
void complete;

/** One field that differs between two definitions. */
export interface DefChange {
  field: DefField;
  from: unknown;
  to: unknown;
}

/** The definition part of a task (or of a TaskDef), as a fresh plain object. */
export function defOf(t: TaskDef): TaskDef {
  return {
    id: t.id,
    command: Array.isArray(t.command) ? [...t.command] : t.command,
    depends_on: [...t.depends_on],
    resources: { ...t.resources },
    critical: t.critical,
    priority: t.priority,
    timeout_seconds: t.timeout_seconds,
    max_retries: t.max_retries,
    retry_base_seconds: t.retry_base_seconds,
    retry_cap_seconds: t.retry_cap_seconds,
    validate: Array.isArray(t.validate) ? [...t.validate] : t.validate,
    cwd: t.cwd,
    env: { ...t.env },
    // Only when set, so a definition without them stays as it was written (and compares equal).
    ...(t.cpus !== undefined ? { cpus: t.cpus } : {}),
    ...(t.memory_mb !== undefined ? { memory_mb: t.memory_mb } : {}),
    ...(t.gpus !== undefined ? { gpus: t.gpus } : {}),
  };
}

/** The fields in which `b` differs from `a`, in DEF_FIELDS order (maps compare whatever their key order). */
export function defChanges(a: TaskDef, b: TaskDef): DefChange[] {
  const out: DefChange[] = [];
  for (const f of DEF_FIELDS) if (canonical(a[f]) !== canonical(b[f])) out.push({ field: f, from: a[f], to: b[f] });
  return out;
}

/** JSON with object keys sorted: two maps with the same entries give the same text. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'undefined';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

/** Whether `v` has the shape of a normalized task definition (as a record carries it). */
export function isTaskDef(v: unknown): v is TaskDef {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const d = v as Record<string, unknown>;
  const cmd = (c: unknown) => typeof c === 'string' || (Array.isArray(c) && c.every((x) => typeof x === 'string'));
  return typeof d.id === 'string' && cmd(d.command) && (d.validate === null || cmd(d.validate))
    && Array.isArray(d.depends_on) && d.depends_on.every((x) => typeof x === 'string')
    && typeof d.resources === 'object' && d.resources !== null && typeof d.env === 'object' && d.env !== null
    && typeof d.critical === 'boolean' && typeof d.priority === 'number' && typeof d.max_retries === 'number'
    && typeof d.retry_base_seconds === 'number' && typeof d.retry_cap_seconds === 'number'
    && (d.timeout_seconds === null || typeof d.timeout_seconds === 'number') && (d.cwd === null || typeof d.cwd === 'string');
}
