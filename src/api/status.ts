import { resolveWorkstream } from '../model/resolve.js';
import { TERMINAL_WORKSTREAM_STATES } from '../model/states.js';
import type { Workstream } from '../model/types.js';
import { type CommonOptions, withStore } from './common.js';
import { workstreamSummary } from './views.js';

export interface StatusOptions extends CommonOptions {
  workstreamId?: string;
  /** Include terminal (archived) workstreams too. */
  all?: boolean;
}

/** The state as one plain document: workstreams (with tasks), workers, resources, scheduler. */
export async function status(o: StatusOptions) {
  return withStore(o, { readOnly: true }, async (store) => statusOf(store.state, o, { seq: store.state.seq, source: store.source, warnings: store.warnings }));
}

export function statusOf(s: import('../model/state.js').StateView, o: StatusOptions, meta: { seq: number; source: string; warnings: string[] }) {
  // Every list in a stable order: the same state shows the same whether it was loaded from
  // current.json or replayed from the log (their maps are filled in different orders).
  const bySubmission = (a: Workstream, b: Workstream) => a.submitted_at.localeCompare(b.submitted_at) || a.id.localeCompare(b.id);
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const ids = o.workstreamId !== undefined ? [resolveWorkstream(s, o.workstreamId).id] : s.workstreamIds();
  const workstreams = ids
    .map((id) => s.workstream(id)!)
    .filter((ws) => o.all || o.workstreamId !== undefined || !TERMINAL_WORKSTREAM_STATES.has(ws.state))
    .sort(bySubmission)
    .map((ws) => workstreamSummary(s, ws, true));
  const archived = s.workstreamIds().map((id) => s.workstream(id)!).filter((ws) => TERMINAL_WORKSTREAM_STATES.has(ws.state)).sort(bySubmission);
  return {
    seq: meta.seq,
    loaded_from: meta.source,
    warnings: meta.warnings,
    scheduler: s.scheduler(),
    workstreams,
    archived: archived.map((ws) => ({ id: ws.id, state: ws.state, finished_at: ws.finished_at })),
    workers: s.workerIds().map((id) => s.worker(id)!).filter((w) => w.state !== 'shutdown' || o.all).sort(byId),
    resources: s.resourceIds().map((id) => s.resource(id)!).sort(byId),
  };
}
