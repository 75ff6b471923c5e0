import { CairnError } from '../../errors.js';
import { resolveWorkstream } from '../../model/resolve.js';
import type { StateView } from '../../model/state.js';
import { decideNamed } from '../../recovery/name-checkpoint.js';
import type { FsLayer } from '../../store/fsio.js';
import { realFs } from '../../store/fsio.js';
import { type NamedIndex, type NamedPoint, scanNamed } from '../../store/named-points.js';
import { StatePaths } from '../../store/paths.js';
import { type CommonOptions, stateDirOf } from '../common.js';
import { actor, type ActionOptions, type ActionResult, runAction } from './action.js';
import { countsOf } from './views.js';

/**
 * Named checkpoints (cairn checkpoint): a name for a workstream's current point, listed by
 * `checkpoints` and taken by `--to-checkpoint NAME`. The names live in the log only; each verb reads
 * them with one scan (store/named-points.ts), and a verb that adds one reads the records appended
 * since once more under the state lock, so two operators cannot give the same name at once.
 */

/** The names of a log, read on demand and brought up to date on each call (from where the last read ended). */
export function namesReader(o: CommonOptions): () => NamedIndex {
  const io: FsLayer = o.fs ?? realFs;
  const log = new StatePaths(stateDirOf(o)).log;
  let idx: NamedIndex | undefined;
  return () => (idx = scanNamed(io, log, idx));
}

/** The named checkpoints of one workstream, oldest first. */
export function namesOf(idx: NamedIndex, wsId: string): NamedPoint[] {
  return [...(idx.workstreams.get(wsId)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
}

/**
 * What --to-checkpoint and --show take, read by one rule: `latest`; all digits: a seq; any other id:
 * a name given with `cairn checkpoint` (names are never all digits nor `latest`, so the three cannot
 * be confused). Anything else is BAD_INPUT; an unknown name is UNKNOWN_CHECKPOINT listing the names.
 */
export function resolveWhich(which: string, flag: string, wsId: string, names: () => NamedIndex): 'latest' | number {
  if (which === 'latest') return 'latest';
  if (/^[1-9]\d{0,15}$/.test(which)) return Number(which);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(which) || /^\d+$/.test(which)) {
    throw new CairnError('BAD_INPUT', `${flag} ${JSON.stringify(which)} is neither latest, a seq, nor a checkpoint name`, { hint: `Give ${flag} latest, a seq or a name from: cairn checkpoints --workstream-id ${wsId}` });
  }
  const list = namesOf(names(), wsId);
  const hit = list.find((n) => n.name === which);
  if (hit) return hit.checkpoint_seq;
  const known = list.map((n) => n.name);
  throw new CairnError('UNKNOWN_CHECKPOINT', `workstream ${wsId} has no checkpoint named ${which}`, {
    details: { workstream_id: wsId, checkpoint: which, names: known, available: ['latest'] },
    hint: known.length ? `Its named checkpoints: ${known.slice(0, 20).join(', ')}; or give latest or a seq (cairn checkpoints --workstream-id ${wsId})` : `It has none; name its current point with: cairn checkpoint --workstream-id ${wsId} --name ${which}, or give latest or a seq (cairn checkpoints --workstream-id ${wsId})`,
  });
}

function wsState(s: StateView, id: string): string {
  const ws = resolveWorkstream(s, id);
  return `workstream ${ws.id} is ${ws.state} (${countsOf(ws.counts)})`;
}

/** checkpoint: names the workstream's current point (its last task transition); refused with DUPLICATE_NAME when the name is taken. */
export async function nameCheckpoint(o: ActionOptions & { workstream: string; name: string }): Promise<ActionResult & { checkpoint: { name: string; seq: number } | null }> {
  const names = namesReader(o);
  let seq: number | null = null;
  const r = await runAction(o, {
    tool: 'checkpoint',
    decide: (s, now) => {
      const ws = resolveWorkstream(s, o.workstream);
      const taken = names().workstreams.get(ws.id) ?? new Map();
      seq = ws.last_task_seq;
      return decideNamed(s, { ...actor(o), workstream: ws.id, name: o.name, taken }, now);
    },
    nothing: (s) => wsState(s, o.workstream),
    done: (s, recs) => `name checkpoint ${String(recs[0]?.checkpoint_seq)} of workstream ${String(recs[0]?.workstream_id)} "${o.name}" (cairn rollback-workstream --workstream-id ${String(recs[0]?.workstream_id)} --to-checkpoint ${o.name} returns to it); ${wsState(s, o.workstream)}`,
  });
  return { ...r, checkpoint: seq === null ? null : { name: o.name, seq } };
}
