import { resolveWorkstream } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import type { Task } from '../model/types.js';
import { tasksOf } from './common.js';

/** visualize_dag, pure: a workstream's dependency graph as a text tree, Graphviz dot or Mermaid. */
export type DagFormat = 'text' | 'dot' | 'mermaid';

export interface DagView {
  workstream_id: string;
  state: string;
  nodes: { id: string; state: string; critical: boolean; depends_on: string[]; dependents: string[] }[];
  edges: { from: string; to: string }[];
  rendered: string;
}

/** Edges go from a dependency to the task that waits for it (the order things run in). */
export function visualize(s: StateView, workstream: string, format: DagFormat): DagView {
  const ws = resolveWorkstream(s, workstream);
  const tasks = tasksOf(s, ws);
  const nodes = tasks.map((t) => ({ id: t.id, state: t.state, critical: t.critical, depends_on: [...t.depends_on], dependents: [...s.dependents(ws.id, t.id)] }));
  const edges = tasks.flatMap((t) => t.depends_on.filter((d) => s.task(ws.id, d)).map((d) => ({ from: d, to: t.id })));
  const rendered = format === 'dot' ? dot(ws.id, tasks, edges) : format === 'mermaid' ? mermaid(tasks, edges) : text(s, ws.id, ws.state, tasks);
  return { workstream_id: ws.id, state: ws.state, nodes, edges, rendered };
}

function label(t: Task): string {
  return `${t.id} [${t.state}]${t.critical ? ' (critical)' : ''}${t.state === 'blocked' && t.blocked_by ? ` blocked by ${t.blocked_by}` : ''}`;
}

/** A tree from the tasks without dependencies down to their dependents; a task reached again is shown once, then referred to. */
function text(s: StateView, wsId: string, state: string, tasks: Task[]): string {
  const lines = [`workstream ${wsId} [${state}]`];
  const shown = new Set<string>();
  const walk = (t: Task, prefix: string, last: boolean, path: Set<string>) => {
    const branch = last ? '└── ' : '├── ';
    if (shown.has(t.id) || path.has(t.id)) {
      lines.push(`${prefix}${branch}${t.id} (see above)`);
      return;
    }
    shown.add(t.id);
    const extra = t.depends_on.length > 1 ? `  ← also needs ${t.depends_on.join(', ')}` : '';
    lines.push(`${prefix}${branch}${label(t)}${extra}`);
    const kids = s.dependents(wsId, t.id).map((id) => s.task(wsId, id)!).filter(Boolean);
    const next = new Set(path).add(t.id);
    kids.forEach((k, i) => walk(k, prefix + (last ? '    ' : '│   '), i === kids.length - 1, next));
  };
  const roots = tasks.filter((t) => t.depends_on.every((d) => !s.task(wsId, d)));
  roots.forEach((t, i) => walk(t, '', i === roots.length - 1, new Set()));
  for (const t of tasks) if (!shown.has(t.id)) lines.push(`${label(t)} (in a dependency cycle)`);
  return lines.join('\n');
}

const COLOR: Record<string, string> = {
  completed: 'palegreen', running: 'lightskyblue', validating: 'lightskyblue', queued: 'lightyellow', retrying: 'orange',
  failed: 'salmon', blocked: 'plum', cancelled: 'lightgrey', skipped: 'whitesmoke', pending: 'white',
};

function q(s: string): string {
  return JSON.stringify(s);
}

function dot(wsId: string, tasks: Task[], edges: { from: string; to: string }[]): string {
  const out = [`digraph ${q(wsId)} {`, '  rankdir=LR;', '  node [shape=box, style=filled];'];
  for (const t of tasks) out.push(`  ${q(t.id)} [label=${q(`${t.id}\n${t.state}`)}, fillcolor=${q(COLOR[t.state] ?? 'white')}${t.critical ? ', penwidth=2' : ''}];`);
  for (const e of edges) out.push(`  ${q(e.from)} -> ${q(e.to)};`);
  out.push('}');
  return out.join('\n');
}

function mermaid(tasks: Task[], edges: { from: string; to: string }[]): string {
  const ids = new Map(tasks.map((t, i) => [t.id, `t${i}`]));
  const out = ['graph LR'];
  for (const t of tasks) out.push(`  ${ids.get(t.id)}["${t.id}: ${t.state}${t.critical ? ' (critical)' : ''}"]:::${t.state}`);
  for (const e of edges) out.push(`  ${ids.get(e.from)} --> ${ids.get(e.to)}`);
  for (const [state, color] of Object.entries(COLOR)) out.push(`  classDef ${state} fill:${color}`);
  return out.join('\n');
}
