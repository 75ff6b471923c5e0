import { diffStates, type Intervention, interventionsOf, type StateDiff } from '../../history/diff.js';
import { resolveWorkstream } from '../../model/resolve.js';
import { realFs } from '../../store/fsio.js';
import { positionHolds } from '../../store/snapshots.js';
import { manualRecordsBetween } from '../../store/state-at.js';
import type { CommonOptions } from '../common.js';
import { type PointHeader, type PointState, withPointState } from './state-at.js';

export interface DiffOptions extends CommonOptions {
  from: string;
  /** Default: now. */
  to?: string;
  workstreamId?: string;
}

export interface DiffResult extends StateDiff {
  from: PointHeader;
  to: PointHeader;
  /** `from` is after `to`: the changes shown undo what happened between them. */
  reversed: boolean;
  /** Manual actions between the two points, oldest first; null when the points are on histories that went different ways. */
  interventions: Intervention[] | null;
  /** Why `interventions` is null, when it is. */
  interventions_note: string | null;
  /** The log records no config changes (config.json is read at start, not logged): said, not guessed. */
  config: { recorded: false; note: string };
}

const CONFIG_NOTE = 'config.json changes are not recorded in the log; compare the committed config.json with git diff';

/**
 * `cairn diff <from> [<to>]`: what changed between two points (DESIGN §10): each workstream's task
 * state changes with attempt counts, workstreams submitted, finished, reopened, resources and
 * limits, workers, and the interventions in between (operator, tool, reason). `from` after `to` is
 * allowed and shows the reverse (`reversed`), with the interventions between them all the same.
 */
export async function diff(o: DiffOptions): Promise<DiffResult> {
  return withPointState(o, o.from, (a) => withPointState(o, o.to ?? 'now', (b) => {
    const only = o.workstreamId === undefined ? undefined : resolveBoth(a, b, o.workstreamId);
    const reversed = a.header.seq > b.header.seq;
    const between = interventionsBetween(reversed ? b : a, reversed ? a : b);
    return {
      from: a.header,
      to: b.header,
      reversed,
      ...diffStates(a.state, b.state, only),
      interventions: between === null ? null : interventionsOf(between, only),
      interventions_note: between === null ? 'the two points are on histories that went different ways (git revisions whose logs differ): their records are not one stretch of log' : null,
      config: { recorded: false, note: CONFIG_NOTE },
    };
  }));
}

/** A workstream id as either state knows it (it may exist at one point only). */
function resolveBoth(a: PointState, b: PointState, id: string): string {
  if (a.state.workstream(id) || b.state.workstream(id)) return id;
  return resolveWorkstream(b.state, id).id; // the error names what exists now
}

/** The manual records after `early` up to `late`, read from the log that holds both points; null if none does. */
function interventionsBetween(early: PointState, late: PointState) {
  if (early.header.seq === late.header.seq && early.at.crc === late.at.crc) return [];
  for (const holder of [late, early]) {
    const other = holder === late ? early : late;
    if (other.at.seq > holder.at.seq) continue;
    if (holder.file === other.file || positionHolds(realFs, holder.file, other.at)) return manualRecordsBetween(realFs, holder.file, early.at, late.at.seq);
  }
  return null;
}
