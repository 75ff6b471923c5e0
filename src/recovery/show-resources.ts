import { resolveResource } from '../model/resolve.js';
import type { StateView } from '../model/state.js';
import { splitKey } from '../model/types.js';
import { tasksOf } from './common.js';

/** show_resources, pure: each resource's limit, who holds it and who waits for it. */
export interface ResourceView {
  id: string;
  max_holders: number | null;
  held: number;
  free: number | null;
  holders: { task: string; units: number; state: string; since: string | null }[];
  waiters: { task: string; units: number; queued_at: string | null; waiting_ms: number | null; warned: boolean }[];
}

export function resourcesView(s: StateView, now: number, only?: string): ResourceView[] {
  const ids = only !== undefined ? [resolveResource(s, only).id] : s.resourceIds().sort();
  const waiting = new Map<string, ResourceView['waiters']>();
  for (const wsId of s.workstreamIds()) {
    for (const t of tasksOf(s, s.workstream(wsId)!)) {
      if (t.state !== 'queued') continue;
      for (const [rid, units] of Object.entries(t.resources)) {
        const list = waiting.get(rid) ?? [];
        list.push({ task: `${wsId}/${t.id}`, units, queued_at: t.queued_at, waiting_ms: t.queued_at ? Math.max(0, now - Date.parse(t.queued_at)) : null, warned: t.resource_warned });
        waiting.set(rid, list);
      }
    }
  }
  return ids.map((id) => {
    const r = s.resource(id)!;
    const holders = Object.entries(r.holders).map(([k, units]) => {
      const [ws, tid] = splitKey(k);
      const t = s.task(ws, tid);
      return { task: k, units, state: t?.state ?? 'missing', since: t?.started_at ?? null };
    });
    const held = holders.reduce((a, h) => a + h.units, 0);
    return { id, max_holders: r.max_holders, held, free: r.max_holders === null ? null : r.max_holders - held, holders, waiters: (waiting.get(id) ?? []).sort((a, b) => (a.queued_at ?? '').localeCompare(b.queued_at ?? '')) };
  });
}
