import type { StateView } from './state.js';

/** One difference between two states, for restore's dry run. */
export interface Change {
  what: string;
  field: string;
  from: unknown;
  to: unknown;
}

const TASK_FIELDS = ['state', 'retry_count', 'attempt', 'worker_id'] as const;

/** What changes when the state `before` is replaced by `after`: workstreams, tasks, workers, resources. */
export function diffStates(before: StateView, after: StateView): Change[] {
  const out: Change[] = [];
  const wsIds = new Set([...before.workstreamIds(), ...after.workstreamIds()]);
  for (const id of [...wsIds].sort()) {
    const a = before.workstream(id);
    const b = after.workstream(id);
    if (!a || !b) {
      out.push({ what: `workstream ${id}`, field: 'exists', from: a ? a.state : null, to: b ? b.state : null });
      continue;
    }
    if (a.state !== b.state) out.push({ what: `workstream ${id}`, field: 'state', from: a.state, to: b.state });
    const tids = new Set([...a.task_ids, ...b.task_ids]);
    for (const tid of tids) {
      const x = before.task(id, tid);
      const y = after.task(id, tid);
      if (!x || !y) {
        out.push({ what: `task ${id}/${tid}`, field: 'exists', from: x?.state ?? null, to: y?.state ?? null });
        continue;
      }
      for (const f of TASK_FIELDS) if (x[f] !== y[f]) out.push({ what: `task ${id}/${tid}`, field: f, from: x[f], to: y[f] });
    }
  }
  for (const id of new Set([...before.workerIds(), ...after.workerIds()])) {
    const a = before.worker(id);
    const b = after.worker(id);
    if (a?.state !== b?.state) out.push({ what: `worker ${id}`, field: 'state', from: a?.state ?? null, to: b?.state ?? null });
  }
  for (const id of new Set([...before.resourceIds(), ...after.resourceIds()])) {
    const a = before.resource(id);
    const b = after.resource(id);
    const ha = a ? Object.keys(a.holders).sort().join(',') : null;
    const hb = b ? Object.keys(b.holders).sort().join(',') : null;
    if (ha !== hb) out.push({ what: `resource ${id}`, field: 'holders', from: ha, to: hb });
    if (a?.max_holders !== b?.max_holders) out.push({ what: `resource ${id}`, field: 'max_holders', from: a?.max_holders ?? null, to: b?.max_holders ?? null });
  }
  if (before.seq !== after.seq) out.push({ what: 'state', field: 'seq', from: before.seq, to: after.seq });
  return out;
}
