import { CairnError } from '../../errors.js';
import { readWhole } from '../../store/fsio.js';
import { archivesProblem, listBackups } from '../../store/load.js';
import { logHolds } from '../../store/named-points.js';
import { checkSnapshot, parseDoc, type SnapshotDoc } from '../../store/snapshot.js';
import { type CommonOptions, withStore } from '../common.js';

/**
 * backups: the snapshot backups in backups/, newest first, each judged as `restore-state
 * --from-backup` judges it (store/load.ts): whether it is a valid snapshot (parses, its hash holds,
 * its shape is right) and whether it agrees with the log (the log's crc at its seq is the one it
 * names). Read-only.
 */

export interface BackupView {
  file: string;
  seq: number;
  /** When it was kept, from its name. */
  time: string;
  size: number;
  /** Parses, its hash holds, its shape is a snapshot's and the archive files it names fit it. */
  valid: boolean;
  /** The log holds its seq with its crc (null when it is not valid: nothing to compare). */
  agrees: boolean | null;
  /** What is wrong with it, or null. */
  problem: string | null;
  /** The backup `restore-state --from-backup latest` takes: the newest that is valid (its archive files fit too) and agrees. */
  latest: boolean;
}

/** `2026-01-15T10-40-00.000Z` (a backup name's stamp) as an ISO time. */
function timeOf(stamp: string): string {
  return `${stamp.slice(0, 13)}:${stamp.slice(14, 16)}:${stamp.slice(17)}`;
}

export async function listBackupFiles(o: CommonOptions): Promise<{ backups: BackupView[]; latest: string | null; seq: number }> {
  return withStore(o, { readOnly: true }, async (store) => {
    const { io, paths } = store;
    const backups = listBackups(io, paths).map((b): BackupView => {
      const file = `${paths.backups}/${b.file}`;
      const size = io.lstatSync(file)?.size ?? 0;
      const base = { file: b.file, seq: b.seq, time: timeOf(b.stamp), size, latest: false };
      let doc: SnapshotDoc;
      try {
        const buf = readWhole(io, file);
        if (buf === undefined) return { ...base, valid: false, agrees: null, problem: 'it disappeared while being read' };
        doc = checkSnapshot(parseDoc(buf.toString('utf8'), `backups/${b.file}`), `backups/${b.file}`);
      } catch (e) {
        if (e instanceof CairnError && (e.code === 'SNAPSHOT_INVALID' || e.code === 'UNSAFE_PATH')) return { ...base, valid: false, agrees: null, problem: e.message };
        throw e;
      }
      if (doc.seq !== b.seq) return { ...base, valid: false, agrees: null, problem: `its name says seq ${b.seq} but it holds seq ${doc.seq}` };
      const archives = archivesProblem(io, paths, doc, `backups/${b.file}`);
      if (archives) return { ...base, valid: false, agrees: null, problem: archives };
      let held: { holds: boolean; crc: string | null; gone?: true };
      try {
        held = logHolds(io, paths.log, doc.seq, doc.crc);
      } catch (e) {
        if (!(e instanceof CairnError) || e.code !== 'UNKNOWN_POINT') throw e;
        held = { holds: false, crc: null };
      }
      const problem = held.holds ? null : held.gone ? `it is at seq ${doc.seq}, before the log's base (cairn log-archive moved that history out)` : held.crc === null ? `it is at seq ${doc.seq} but the log does not reach it (too new)` : `its crc ${doc.crc} differs from the log's ${held.crc} at seq ${doc.seq} (it belongs to another history)`;
      return { ...base, valid: true, agrees: held.holds, problem };
    });
    // The choice restore-state --from-backup latest makes (store/load.ts): the newest candidate that
    // is valid and agrees with the log, in the same order.
    const latest = backups.find((b) => b.valid && b.agrees) ?? null;
    if (latest) latest.latest = true;
    return { backups, latest: latest?.file ?? null, seq: store.state.seq };
  });
}
