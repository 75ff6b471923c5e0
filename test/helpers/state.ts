// The state a log replays to, as one plain, key-sorted JSON document that tests compare exactly.
import { replayFile } from '../../src/store/replace.js';
import { realFs } from '../../src/store/fsio.js';
import type { State } from '../../src/model/state.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function sortKeys(v: unknown): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: { [k: string]: Json } = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v as Json;
}

/**
 * Everything the state holds: every workstream (active or terminal) with its tasks, the dependents
 * index, workers, resources, the scheduler, metrics, and the seq and crc of the last record applied.
 */
export function stateDocument(s: State): Json {
  const workstreams: Record<string, unknown> = {};
  for (const [id, ws] of s.workstreams) {
    const tasks: Record<string, unknown> = {};
    for (const tid of ws.task_ids) tasks[tid] = s.tasks.get(`${id}/${tid}`);
    const deps: Record<string, string[]> = {};
    for (const [k, v] of s.deps.get(id) ?? new Map<string, string[]>()) deps[k] = v;
    workstreams[id] = { ...ws, tasks, dependents: deps };
  }
  return sortKeys({
    seq: s.seq,
    crc: s.crc,
    workstreams,
    workers: Object.fromEntries(s.workers),
    resources: Object.fromEntries(s.resources),
    scheduler: s.sched,
    metrics: s.metricsData,
  });
}

/** Replays a transitions.jsonl from seq 1 with cairn's own replay (refuses a damaged file). */
export function replayLog(file: string): State {
  return replayFile(realFs, file).state;
}
