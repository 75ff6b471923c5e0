import { jsonPath, type Problem } from '../schemas/ajv.js';
import { checkExecLimits } from './exec-limits.js';
import { isValidId, paramEnvName } from './ids.js';

/**
 * The checks of a workstream spec that a JSON Schema cannot express: unique task ids, known
 * dependencies, declared resources within their limits, params that stay distinct as variables,
 * a sane backoff, params, env and commands small enough to start a process with (exec-limits.ts),
 * and no cycles. They run on the raw input next to the schema, so every problem is reported at
 * once; each check skips the parts the schema already refuses.
 */

type Obj = Record<string, unknown>;

const RESERVED_IDS: ReadonlySet<string> = new Set(['constructor', 'prototype']);

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function names(list: readonly string[]): string {
  return list.length <= 10 ? list.join(', ') : `${list.slice(0, 10).join(', ')}, … (${list.length} in all)`;
}

/** Tasks that are objects, with their index. */
function taskEntries(spec: Obj): { i: number; t: Obj }[] {
  if (!Array.isArray(spec.tasks)) return [];
  return spec.tasks.flatMap((t, i) => (isObj(t) ? [{ i, t }] : []));
}

/** Problems a schema cannot see; the cycles come separately so DAG_CYCLE can be told apart. */
export function checkSpecSemantics(spec: Obj, retry: { base: number; cap: number }): { problems: Problem[]; cycles: Problem[] } {
  const problems: Problem[] = [];
  const tasks = taskEntries(spec);
  const firstAt = new Map<string, number>();
  for (const { i, t } of tasks) {
    if (!isValidId(t.id)) continue; // the schema reports it
    if (RESERVED_IDS.has(t.id)) problems.push({ path: jsonPath(['tasks', i, 'id']), message: `id '${t.id}' is reserved` });
    const first = firstAt.get(t.id);
    if (first === undefined) firstAt.set(t.id, i);
    else problems.push({ path: jsonPath(['tasks', i, 'id']), message: `duplicate task id '${t.id}' (first at ${jsonPath(['tasks', first, 'id'])})` });
  }
  if (typeof spec.id === 'string' && RESERVED_IDS.has(spec.id)) problems.push({ path: '$.id', message: `id '${spec.id}' is reserved` });
  problems.push(...checkDependencies(tasks, [...firstAt.keys()]));
  problems.push(...checkResources(spec, tasks));
  problems.push(...checkParams(spec));
  problems.push(...checkExecLimits(spec));
  problems.push(...checkBackoff(spec, tasks, retry));
  return { problems, cycles: findCycles(tasks, firstAt) };
}

function checkDependencies(tasks: { i: number; t: Obj }[], known: string[]): Problem[] {
  const out: Problem[] = [];
  const knownSet = new Set(known);
  for (const { i, t } of tasks) {
    if (!Array.isArray(t.depends_on)) continue;
    t.depends_on.forEach((d, k, all) => {
      if (!isValidId(d) || all.indexOf(d) < k) return; // the schema reports bad ids and repeats
      const path = jsonPath(['tasks', i, 'depends_on', k]);
      if (d === t.id) out.push({ path, message: `task '${d}' must not depend on itself` });
      else if (!knownSet.has(d)) out.push({ path, message: `unknown dependency '${d}' (known: ${names(known)})` });
    });
  }
  return out;
}

/** Declared resources and their limits; a missing max_holders means 1 (see the schema). */
function declaredResources(spec: Obj): Map<string, number | null> {
  const out = new Map<string, number | null>();
  if (!isObj(spec.resources)) return out;
  for (const [name, r] of Object.entries(spec.resources)) {
    const max = isObj(r) ? r.max_holders : undefined;
    out.set(name, max === undefined ? 1 : typeof max === 'number' ? max : null);
  }
  return out;
}

function checkResources(spec: Obj, tasks: { i: number; t: Obj }[]): Problem[] {
  const out: Problem[] = [];
  const declared = declaredResources(spec);
  const check = (name: unknown, units: unknown, path: string) => {
    if (!isValidId(name)) return; // the schema reports it
    if (!declared.has(name)) {
      out.push({ path, message: `resource '${name}' is not declared in $.resources` });
      return;
    }
    const max = declared.get(name);
    if (typeof max === 'number' && typeof units === 'number' && units > max) {
      out.push({ path, message: `asks for ${units} units of '${name}' but its max_holders is ${max}, so it could never run` });
    }
  };
  for (const { i, t } of tasks) {
    const r = t.resources;
    if (Array.isArray(r)) r.forEach((name, k) => check(name, 1, jsonPath(['tasks', i, 'resources', k])));
    else if (isObj(r)) for (const [name, units] of Object.entries(r)) check(name, units, jsonPath(['tasks', i, 'resources', name]));
  }
  return out;
}

function checkParams(spec: Obj): Problem[] {
  if (!isObj(spec.params)) return [];
  const out: Problem[] = [];
  const byVar = new Map<string, string>();
  for (const name of Object.keys(spec.params)) {
    const v = paramEnvName(name);
    const other = byVar.get(v);
    if (other === undefined) byVar.set(v, name);
    else out.push({ path: jsonPath(['params', name]), message: `param '${name}' and param '${other}' would both be ${v}` });
  }
  return out;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function checkBackoff(spec: Obj, tasks: { i: number; t: Obj }[], retry: { base: number; cap: number }): Problem[] {
  const out: Problem[] = [];
  const d = isObj(spec.defaults) ? spec.defaults : {};
  const dBase = num(d.retry_base_seconds) ?? retry.base;
  const dCap = num(d.retry_cap_seconds) ?? retry.cap;
  const message = (base: number, cap: number) => `retry_cap_seconds (${cap}) must be >= retry_base_seconds (${base})`;
  if (dCap < dBase && (d.retry_base_seconds !== undefined || d.retry_cap_seconds !== undefined)) {
    out.push({ path: '$.defaults.retry_cap_seconds', message: message(dBase, dCap) });
  }
  for (const { i, t } of tasks) {
    if (t.retry_base_seconds === undefined && t.retry_cap_seconds === undefined) continue;
    const base = num(t.retry_base_seconds) ?? dBase;
    const cap = num(t.retry_cap_seconds) ?? dCap;
    if (cap < base) out.push({ path: jsonPath(['tasks', i, 'retry_cap_seconds']), message: message(base, cap) });
  }
  return out;
}

/**
 * One cycle per strongly connected component, spelled along depends_on edges from the component's
 * first task in definition order: `a -> b -> c -> a` means a depends on b, b on c, c on a.
 */
function findCycles(tasks: { i: number; t: Obj }[], firstAt: Map<string, number>): Problem[] {
  const byIndex = new Map(tasks.map((e) => [e.i, e.t]));
  const edges = new Map<string, string[]>();
  for (const [id, i] of firstAt) {
    const t = byIndex.get(i)!;
    const deps = Array.isArray(t.depends_on) ? t.depends_on : [];
    edges.set(id, [...new Set(deps.filter((d): d is string => typeof d === 'string' && d !== id && firstAt.has(d)))]);
  }
  const out: Problem[] = [];
  for (const scc of stronglyConnected([...firstAt.keys()], edges)) {
    if (scc.length < 2) continue;
    const members = new Set(scc);
    const start = scc.reduce((a, b) => (firstAt.get(a)! <= firstAt.get(b)! ? a : b));
    const cycle = shortestCycle(start, edges, members);
    const i = firstAt.get(start)!;
    const k = (byIndex.get(i)!.depends_on as unknown[]).indexOf(cycle[1]);
    out.push({ path: jsonPath(['tasks', i, 'depends_on', k]), message: `dependency cycle: ${cycle.join(' -> ')}` });
  }
  return out;
}

/** Breadth-first from start inside one component, back to start: [start, …, start]. */
function shortestCycle(start: string, edges: Map<string, string[]>, members: Set<string>): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  for (let q = 0; q < queue.length; q++) {
    const node = queue[q]!;
    for (const next of edges.get(node) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return [...path, start];
      }
      if (!prev.has(next)) {
        prev.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** Tarjan's strongly connected components, iterative so a long chain of tasks cannot overflow the stack. */
function stronglyConnected(nodes: string[], edges: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: string; next: number }[] = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const succ = edges.get(frame.node) ?? [];
      if (frame.next < succ.length) {
        const w = succ[frame.next++]!;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(w);
        } while (w !== frame.node);
        out.push(scc);
      }
    }
  }
  return out;
}
