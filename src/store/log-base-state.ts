import * as path from 'node:path';
import { CairnError } from '../errors.js';
import { compactJson } from '../log/canonical.js';
import { State } from '../model/state.js';
import { atomicWrite } from './atomic.js';
import { type FsLayer, readWhole } from './fsio.js';
import { baseName, type BaseMeta } from './log-base.js';
import { checkSnapshot, parseDoc, type SnapshotDoc, stateFromSnapshot } from './snapshot.js';
import { wholeSnapshotDoc } from './snapshots.js';

/* The state half of a base file (log-base.ts has the meta every open of the log reads). */

/** The state the base holds (hash and seq checked); a damaged one is LOG_CORRUPT (exit 3), naming the base. */
export function readBaseState(io: FsLayer, dir: string, b: BaseMeta): State {
  return stateFromSnapshot(readBaseDoc(io, dir, b));
}

export function readBaseDoc(io: FsLayer, dir: string, b: BaseMeta): SnapshotDoc {
  const file = path.join(dir, b.file);
  try {
    const buf = readWhole(io, file) ?? Buffer.alloc(0);
    const doc = checkSnapshot(parseDoc(buf.toString('utf8', buf.indexOf(10) + 1), `log/${b.file}`), `log/${b.file}`);
    if (doc.seq !== b.seq || doc.crc !== b.crc) throw new Error(`its state is at seq ${doc.seq}, not at seq ${b.seq}`);
    return doc;
  } catch (e) {
    throw new CairnError('LOG_CORRUPT', `log/${b.file}, the base the log starts from, is damaged: ${(e as Error).message}`, {
      details: { segment: b.file, seq: b.seq },
      hint: `Copy the segments back from ${b.archived_to} into ${dir}/ and remove log/${b.file}; then cairn validate-state.`,
    });
  }
}

/** Writes a base file (atomically and durably: temp, fsync, rename, folder fsync). */
export function writeBase(io: FsLayer, dir: string, s: State, meta: Omit<BaseMeta, 'file'>): string {
  const name = baseName(meta.seq);
  const head = JSON.stringify({ kind: 'cairn-log-base', ...meta });
  atomicWrite(io, path.join(dir, name), `${head}\n${compactJson(wholeSnapshotDoc(s, meta.offset))}\n`);
  return name;
}

/** The starting state of a replay from `logStart` (a fresh state when the log has no base). */
export function startState(io: FsLayer, file: string, start: { base: BaseMeta | null }): State {
  return start.base ? readBaseState(io, path.join(path.dirname(file), 'log'), start.base) : new State();
}
