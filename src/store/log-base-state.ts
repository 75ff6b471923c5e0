import * as path from 'node:path';
import { CairnError } from '../errors.js';
import { compactJson } from '../log/canonical.js';
import { State } from '../model/state.js';
import type { LogRecord } from '../model/types.js';
import { atomicWrite } from './atomic.js';
import { type FsLayer, readWhole } from './fsio.js';
import { baseName, type BaseMeta } from './log-base.js';
import { checkSnapshot, parseDoc, type SnapshotDoc, stateFromSnapshot } from './snapshot.js';
import { wholeSnapshotDoc } from './snapshots.js';

/*
 * The state half of a base file (log-base.ts has the meta every open of the log reads): line 2 is
 * the state at the base's seq; line 3 what the moved records gave besides the state, so nothing a
 * user had is lost with them: the interventions.log lines up to the base (a rebuild writes them
 * first) and the records naming checkpoints (checkpoints and system-checkpoint list go on showing
 * those names; a point before the base itself is HISTORY_GONE).
 */

/** Line 3 of a base: what the moved records carried besides the state. */
export interface BaseCarried {
  /** The checkpoint_named and system_checkpoint_created records up to the base, oldest first. */
  names: LogRecord[];
  /** The interventions.log lines of the manual records up to the base (each ends with \n). */
  interventions: string[];
}

const NO_CARRIED: BaseCarried = { names: [], interventions: [] };

/** Line `n` (0-based) of a base file, without its newline. */
function lineOf(buf: Buffer, n: number): string {
  let at = 0;
  for (let i = 0; i < n; i++) {
    const nl = buf.indexOf(10, at);
    if (nl < 0) return '';
    at = nl + 1;
  }
  const end = buf.indexOf(10, at);
  return buf.toString('utf8', at, end < 0 ? buf.length : end);
}

/** The state the base holds (hash and seq checked); a damaged one is LOG_CORRUPT (exit 3), naming the base. */
export function readBaseState(io: FsLayer, dir: string, b: BaseMeta): State {
  return stateFromSnapshot(readBaseDoc(io, dir, b));
}

export function readBaseDoc(io: FsLayer, dir: string, b: BaseMeta): SnapshotDoc {
  const file = path.join(dir, b.file);
  try {
    const buf = readWhole(io, file) ?? Buffer.alloc(0);
    const doc = checkSnapshot(parseDoc(lineOf(buf, 1), `log/${b.file}`), `log/${b.file}`);
    if (doc.seq !== b.seq || doc.crc !== b.crc) throw new Error(`its state is at seq ${doc.seq}, not at seq ${b.seq}`);
    return doc;
  } catch (e) {
    throw new CairnError('LOG_CORRUPT', `log/${b.file}, the base the log starts from, is damaged: ${(e as Error).message}`, {
      details: { segment: b.file, seq: b.seq },
      hint: `Copy the segments back from ${b.archived_to} into ${dir}/ and remove log/${b.file}; then cairn validate-state.`,
    });
  }
}

/** What a base carries besides the state (none without a base); a damaged line 3 is LOG_CORRUPT like a damaged state. */
export function readBaseCarried(io: FsLayer, dir: string, b: BaseMeta | null): BaseCarried {
  if (!b) return NO_CARRIED;
  const line = lineOf(readWhole(io, path.join(dir, b.file)) ?? Buffer.alloc(0), 2);
  try {
    const c = JSON.parse(line) as Record<string, unknown>;
    if (c.kind !== 'cairn-log-base-carried' || !Array.isArray(c.names) || !Array.isArray(c.interventions) || !c.interventions.every((l) => typeof l === 'string')) throw new Error('not what cairn writes');
    return { names: c.names as LogRecord[], interventions: c.interventions as string[] };
  } catch (e) {
    throw new CairnError('LOG_CORRUPT', `log/${b.file}, the base the log starts from, is damaged: its third line (the names and interventions before it) ${(e as Error).message}`, {
      details: { segment: b.file, seq: b.seq },
      hint: `Copy the segments back from ${b.archived_to} into ${dir}/ and remove log/${b.file}; then cairn validate-state.`,
    });
  }
}

/** The interventions.log lines the base of the log at `file` carries ('' without one): a rebuild writes them first. */
export function carriedInterventions(io: FsLayer, file: string, b: BaseMeta | null): string {
  return readBaseCarried(io, path.join(path.dirname(file), 'log'), b).interventions.join('');
}

/** Writes a base file (atomically and durably: temp, fsync, rename, folder fsync). */
export function writeBase(io: FsLayer, dir: string, s: State, meta: Omit<BaseMeta, 'file'>, carried: BaseCarried): string {
  const name = baseName(meta.seq);
  const head = JSON.stringify({ kind: 'cairn-log-base', ...meta });
  const tail = compactJson({ kind: 'cairn-log-base-carried', names: carried.names, interventions: carried.interventions });
  atomicWrite(io, path.join(dir, name), `${head}\n${compactJson(wholeSnapshotDoc(s, meta.offset))}\n${tail}\n`);
  return name;
}

/** The starting state of a replay from `logStart` (a fresh state when the log has no base). */
export function startState(io: FsLayer, file: string, start: { base: BaseMeta | null }): State {
  return start.base ? readBaseState(io, path.join(path.dirname(file), 'log'), start.base) : new State();
}
