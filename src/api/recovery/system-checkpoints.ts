import { CairnError } from '../../errors.js';
import { decideSystem } from '../../recovery/name-checkpoint.js';
import { decide as restoreDecide, planRestore, type SystemRestorePlan } from '../../recovery/restore-system-checkpoint.js';
import { historyGone, logStart } from '../../store/log-base.js';
import { type NamedPoint, logHolds } from '../../store/named-points.js';
import { stateAt } from '../../store/state-at.js';
import { type CommonOptions, withStore } from '../common.js';
import { actor, type ActionOptions, type ActionResult, runAction } from './action.js';
import { namesReader } from './named.js';

/**
 * System checkpoints: a name for the whole state at a seq (`system-checkpoint create`), listed with
 * whether the log still holds that point, and restored by appending the records that bring every
 * workstream back to it (recovery/restore-system-checkpoint.ts says what that does to work done
 * after it). The log is never cut.
 */

/** One system checkpoint as `list` shows it. */
export interface SystemCheckpointView {
  name: string;
  /** The seq of the whole state it names. */
  seq: number;
  crc: string;
  /** When it was named (the naming record's time), by whom and why. */
  created_at: string;
  created_seq: number;
  operator: string | null;
  reason: string | null;
  /** Whether the log still holds record `seq` with that crc (false after a repair or a replaced log changed it). */
  in_log: boolean;
  /** The log's crc at `seq` now (null when the log does not reach it). */
  log_crc: string | null;
  /** `seq` is before the log's base: its segments were moved out (log-archive); copy them back to restore it. */
  archived: boolean;
}

function view(io: NonNullable<CommonOptions['fs']>, log: string, p: NamedPoint): SystemCheckpointView {
  let held: { holds: boolean; crc: string | null; gone?: true };
  try {
    held = logHolds(io, log, p.checkpoint_seq, p.checkpoint_crc!);
  } catch (e) {
    if (!(e instanceof CairnError) || e.code !== 'UNKNOWN_POINT') throw e;
    held = { holds: false, crc: null };
  }
  return { name: p.name, seq: p.checkpoint_seq, crc: p.checkpoint_crc!, created_at: p.ts, created_seq: p.seq, operator: p.operator, reason: p.reason, in_log: held.holds, log_crc: held.crc, archived: held.gone === true };
}

/** system-checkpoint list: every system checkpoint, oldest first. */
export async function listSystemCheckpoints(o: CommonOptions): Promise<{ checkpoints: SystemCheckpointView[]; seq: number }> {
  return withStore(o, { readOnly: true }, async (store) => {
    const idx = namesReader(o)();
    const list = [...idx.system.values()].sort((a, b) => a.seq - b.seq).map((p) => view(store.io, store.paths.log, p));
    return { checkpoints: list, seq: store.state.seq };
  });
}

/** system-checkpoint create: names the whole state as of the last record. */
export async function createSystemCheckpoint(o: ActionOptions & { name: string }): Promise<ActionResult & { checkpoint: { name: string; seq: number; crc: string } | null }> {
  const names = namesReader(o);
  const r = await runAction(o, {
    tool: 'system_checkpoint_create',
    decide: (s, now) => decideSystem(s, { ...actor(o), name: o.name, taken: names().system }, now),
    nothing: () => 'nothing to do',
    done: (_s, recs) => `name the whole state at seq ${String(recs[0]!.checkpoint_seq)} system checkpoint "${o.name}" (cairn system-checkpoint restore ${o.name} returns to it)`,
  });
  const rec = r.records[0];
  return { ...r, checkpoint: rec ? { name: o.name, seq: Number(rec.checkpoint_seq), crc: String(rec.checkpoint_crc) } : null };
}

/**
 * system-checkpoint restore NAME: every workstream back to its state at the checkpoint's seq, in one
 * recorded decision (see recovery/restore-system-checkpoint.ts). Refused (UNKNOWN_CHECKPOINT, exit 2)
 * for a name that is not a system checkpoint, or one whose point the log no longer holds.
 */
export async function restoreSystemCheckpoint(o: ActionOptions & { name: string }): Promise<ActionResult & { checkpoint: SystemCheckpointView; plan: SystemRestorePlan }> {
  // Read before the action's own store opens: the replay up to the point runs outside the state lock.
  const { cp, at } = await withStore(o, { readOnly: true }, async (store) => {
    const idx = namesReader(o)();
    const p = idx.system.get(o.name);
    if (!p) {
      const known = [...idx.system.keys()];
      throw new CairnError('UNKNOWN_CHECKPOINT', `there is no system checkpoint named ${o.name}`, {
        details: { checkpoint: o.name, names: known },
        hint: known.length ? `System checkpoints: ${known.slice(0, 20).join(', ')} (cairn system-checkpoint list)` : `There are none yet: cairn system-checkpoint create --name ${o.name}`,
      });
    }
    const v = view(store.io, store.paths.log, p);
    // Before the log's base (log-archive): a point that exists, in segments moved out.
    const { base } = logStart(store.io, store.paths.log);
    if (v.archived && base) throw historyGone(base, store.paths.segments);
    if (!v.in_log) {
      throw new CairnError('UNKNOWN_CHECKPOINT', `system checkpoint ${o.name} names seq ${v.seq} with crc ${v.crc}, but the log ${v.log_crc ? `has crc ${v.log_crc} there` : 'does not reach it'}: the log was repaired or replaced since, and that point is not in it any more`, {
        details: { checkpoint: o.name, seq: v.seq, crc: v.crc, log_crc: v.log_crc },
        hint: 'See what the log holds now: cairn system-checkpoint list; name a new point: cairn system-checkpoint create --name <name>',
      });
    }
    // Never writes snapshots (own = false): a dry run leaves the folder as it was, byte for byte.
    const got = stateAt(store.io, store.paths, store.paths.log, v.seq, false);
    return { cp: v, at: got.state };
  });
  const req = { ...actor(o), name: o.name, seq: cp.seq, at };
  let plan: SystemRestorePlan = { rolled_back: [], cancelled: [], resources: [], left: [] };
  const r = await runAction(o, {
    tool: 'system_checkpoint_restore',
    decide: (s, now) => {
      plan = planRestore(s, req);
      return restoreDecide(s, req, now);
    },
    nothing: () => `every workstream already is as system checkpoint ${o.name} (seq ${cp.seq}) left it, as far as a restore can make it${plan.left.length ? ` (${plan.left.length} thing(s) it leaves as they are)` : ''}`,
    done: () => `restore system checkpoint ${o.name} (seq ${cp.seq}): ${plan.rolled_back.length} workstream(s) rolled back, ${plan.cancelled.length} submitted after it cancelled, ${plan.resources.length} resource limit(s) reset`,
  });
  return { ...r, checkpoint: cp, plan };
}
