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
