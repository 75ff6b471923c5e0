import type { State } from '../model/state.js';
import type { FsLayer } from './fsio.js';
import type { StatePaths } from './paths.js';
import type { Problem } from './verify.js';

const FIX = 'cairn restore-state --from-transitions .state/transitions.jsonl --yes (rewrites every workstream\'s checkpoints from the log)';

/** Each workstream's last task transition as of `state` (the replay at current.json's seq). */
export function lastTransitions(state: State): Map<string, number> {
  return new Map([...state.workstreams].map(([id, ws]) => [id, ws.last_task_seq]));
}

/**
 * The checkpoint files every writer leaves: checkpoints are written before the snapshot that covers
 * them, so for each workstream current.json knows, `<ws>_latest.json` and `<ws>/<seq>.json` of its
 * last task transition up to current.json's seq must exist. A deleted or lost one is
 * CHECKPOINT_MISSING (a log that runs past current.json after a crash is not: its files come later).
 */
export function missingCheckpoints(io: FsLayer, paths: StatePaths, expected: Map<string, number>): Problem[] {
  const out: Problem[] = [];
  for (const [ws, seq] of [...expected].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const file of [paths.checkpointLatest(ws), paths.checkpoint(ws, seq)]) {
      if (io.lstatSync(file)) continue;
      const rel = file.slice(paths.checkpoints.length + 1);
      out.push({ code: 'CHECKPOINT_MISSING', message: `checkpoints/${rel} is missing: workstream ${ws}'s last task transition up to current.json is at seq ${seq}`, fix: FIX, file: `checkpoints/${rel}` });
    }
  }
  return out;
}

/**
 * Checkpoint files deleted from the middle (or the old end) of a workstream's kept files: each file
 * names the one written before it (`previous`) and the oldest file kept when it was written
 * (`oldest_kept`); from `<ws>_latest.json` every link down to `oldest_kept` must be on disk. Pruning
 * removes files older than `oldest_kept` only, so a missing link was deleted or lost. A file without
 * these fields (written before they existed) ends the walk; an unreadable one is reported as
 * CHECKPOINT_INVALID by the caller and ends it too.
 */
export function brokenChains(io: FsLayer, paths: StatePaths, bySeq: Map<number, { file: string; doc: { workstream_id: string; seq: number; previous?: number | null; oldest_kept?: number } }[]>): Problem[] {
  const out: Problem[] = [];
  const byFile = new Map<string, { seq: number; previous?: number | null; oldest_kept?: number }>();
  for (const list of bySeq.values()) for (const c of list) byFile.set(c.file, c.doc);
  const latest = [...byFile].filter(([f]) => f.endsWith('_latest.json')).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [file, top] of latest) {
    const ws = file.slice(0, -'_latest.json'.length);
    const floor = top.oldest_kept;
    if (typeof floor !== 'number') continue;
    let cur = top;
    while (typeof cur.previous === 'number' && cur.previous < cur.seq && cur.previous >= floor) {
      const rel = `${ws}/${cur.previous}.json`;
      const next = byFile.get(rel);
      if (!next) {
        if (!io.lstatSync(paths.checkpoint(ws, cur.previous))) {
          out.push({
            code: 'CHECKPOINT_MISSING',
            message: `checkpoints/${rel} is missing: checkpoints/${ws}/${cur.seq}.json was written after it, and checkpoints down to seq ${floor} are kept`,
            fix: FIX,
            file: `checkpoints/${rel}`,
          });
        }
        break;
      }
      cur = next;
    }
  }
  return out;
}
