import * as path from 'node:path';
import { prettyJson } from '../log/canonical.js';
import type { State } from '../model/state.js';
import type { LogRecord } from '../model/types.js';
import { atomicWrite } from './atomic.js';
import { DIR_MODE, FILE_MODE, FLAGS, type FsLayer, fsyncDir, ioError, readWhole, unsafe, writeAll } from './fsio.js';
import { listBackups } from './load.js';
import { type StatePaths, stampOf } from './paths.js';
import { archiveDoc, checkpointDoc, checkSnapshot, isArchived, parseDoc, snapshotFile } from './snapshot.js';
import { metricsDoc } from './metrics.js';

/** Retention and pacing of derived files. */
export interface DerivedConfig {
  backup_interval_ms: number;
  backups_keep: number;
  checkpoints_keep: number;
}

/** Makes sure `dir` is a real folder of ours (0700), creating it if needed; refuses a symlink. */
export function ensureDir(io: FsLayer, dir: string): void {
  const st = io.lstatSync(dir);
  if (st) {
    if (st.isSymbolicLink() || !st.isDirectory()) throw unsafe(dir);
    return;
  }
  try {
    io.mkdirSync(dir, DIR_MODE);
  } catch (e) {
    // Another writer made it between our lstat and mkdir: fine if it is a real folder.
    const now = (e as NodeJS.ErrnoException).code === 'EEXIST' ? io.lstatSync(dir) : undefined;
    if (!now) throw ioError('mkdir', `could not create the folder ${dir}`, e);
    if (now.isSymbolicLink() || !now.isDirectory()) throw unsafe(dir);
    return;
  }
  try {
    io.chmodSync(dir, DIR_MODE); // whatever the umask
    fsyncDir(io, path.dirname(dir));
  } catch (e) {
    throw ioError('mkdir', `could not create the folder ${dir}`, e);
  }
}

/**
 * Writes every file derived from the state, each atomically: archive files of terminal
 * workstreams, checkpoints of workstreams whose tasks moved, metrics.json, a backup of the previous
 * current.json (at most once per backup interval), and current.json last, so that whatever it
 * refers to is already on disk.
 */
export class DerivedWriter {
  /** Workstream → seq of its newest checkpoint on disk. */
  private readonly checkpointed = new Map<string, number>();
  private lastBackupMs: number | null = null;
  lastSnapshotSeq = -1;
  /** The backups/ file the last write kept the previous current.json in; null when it kept none. */
  lastBackupFile: string | null = null;
  /**
   * The seq of the snapshot the state was loaded from: checkpoints are written before the snapshot
   * that covers them, so a workstream whose last task transition is at or before it needs no look
   * at its checkpoint files (this keeps a command's final write from reading one file per workstream).
   */
  coveredUpTo = 0;

  constructor(private readonly io: FsLayer, private readonly paths: StatePaths, private readonly cfg: DerivedConfig) {}

  /**
   * `rewriteAll` (restore-state) rewrites every checkpoint and archive file, whatever is on disk.
   * `nowMs` paces the backups (git-ignored) only: committed files are stamped with the ts of the
   * state's last record, so writing the same state again gives the same bytes.
   */
  write(s: State, logOffset: number, nowMs: number, archivedAt: Map<string, number>, forceBackup = false, rewriteAll = false): void {
    if (rewriteAll) {
      this.checkpointed.clear();
      this.coveredUpTo = 0;
    }
    const at = s.lastTs;
    ensureDir(this.io, this.paths.archive);
    ensureDir(this.io, this.paths.checkpoints);
    for (const [id, ws] of s.workstreams) {
      if (isArchived(ws)) {
        if (rewriteAll || (archivedAt.get(id) ?? -1) < ws.updated_seq) {
          atomicWrite(this.io, this.paths.archived(id), prettyJson(archiveDoc(s, id)));
          archivedAt.set(id, s.seq);
        }
      } else if (archivedAt.has(id)) {
        // Reopened: it is active again and lives in current.json.
        archivedAt.delete(id);
        this.remove(this.paths.archived(id));
      }
      this.checkpoint(s, id, rewriteAll);
    }
    atomicWrite(this.io, this.paths.metrics, prettyJson(metricsDoc(s, at)));
    this.backup(nowMs, forceBackup);
    atomicWrite(this.io, this.paths.current, snapshotFile(s, logOffset, at, archivedAt));
    this.lastSnapshotSeq = s.seq;
  }

  private checkpoint(s: State, wsId: string, rewrite: boolean): void {
    const ws = s.workstreams.get(wsId)!;
    let known = this.checkpointed.get(wsId);
    if (!rewrite && known === undefined && ws.last_task_seq <= this.coveredUpTo) return;
    if (!rewrite && known === undefined) {
      known = this.readLatestSeq(wsId);
      this.checkpointed.set(wsId, known);
    }
    if (!rewrite && ws.last_task_seq <= known!) return;
    if (rewrite) known = this.readLatestSeq(wsId);
    const seq = ws.last_task_seq;
    // The files left after this write, oldest first: the newest checkpoints_keep, this one included.
    const seqs = listCheckpointSeqs(this.io, this.paths, wsId).filter((n) => n !== seq);
    seqs.push(seq);
    seqs.sort((a, b) => a - b);
    const kept = seqs.slice(-this.cfg.checkpoints_keep);
    const previous = known! > 0 && known! < seq ? known! : null;
    const doc = prettyJson(checkpointDoc(s, wsId, { previous, oldest_kept: kept[0]! }));
    ensureDir(this.io, this.paths.checkpointDir(wsId));
    atomicWrite(this.io, this.paths.checkpoint(wsId, seq), doc);
    atomicWrite(this.io, this.paths.checkpointLatest(wsId), doc);
    this.checkpointed.set(wsId, seq);
    this.prune(this.paths.checkpointDir(wsId), seqs.map((n) => `${n}.json`), this.cfg.checkpoints_keep);
  }

  private readLatestSeq(wsId: string): number {
    try {
      const buf = readWhole(this.io, this.paths.checkpointLatest(wsId));
      if (!buf) return 0;
      const v = parseDoc(buf.toString('utf8'), 'checkpoint');
      return typeof v.seq === 'number' ? v.seq : 0;
    } catch {
      return 0; // a bad latest file is simply rewritten
    }
  }

  private backup(nowMs: number, force: boolean): void {
    this.lastBackupFile = null;
    ensureDir(this.io, this.paths.backups);
    const existing = listBackups(this.io, this.paths);
    if (this.lastBackupMs === null) {
      const newest = existing[0];
      this.lastBackupMs = newest ? Date.parse(newest.stamp.replace(/T(\d{2})-(\d{2})-(\d{2})/, 'T$1:$2:$3')) : -Infinity;
    }
    if (!force && nowMs - this.lastBackupMs < this.cfg.backup_interval_ms) return;
    const old = readWhole(this.io, this.paths.current);
    if (!old || old.length === 0) return;
    let seq: number;
    try {
      // MUST: only a valid snapshot (parses, right shape, hash holds) becomes a backup: restore-state
      // --from-backup latest takes the newest one, and pruning would drop a good one for it.
      seq = checkSnapshot(parseDoc(old, 'current.json'), 'current.json').seq;
    } catch {
      return;
    }
    const file = this.paths.backup(stampOf(nowMs), seq);
    atomicWrite(this.io, file, old);
    this.lastBackupFile = file;
    this.lastBackupMs = nowMs;
    this.prune(this.paths.backups, listBackups(this.io, this.paths).map((b) => b.file).reverse(), this.cfg.backups_keep);
  }

  /** Removes the oldest of `filesOldestFirst` beyond `keep`. */
  private prune(dir: string, filesOldestFirst: string[], keep: number): void {
    const extra = filesOldestFirst.length - keep;
    for (let i = 0; i < extra; i++) this.remove(path.join(dir, filesOldestFirst[i]!));
  }

  private remove(file: string): void {
    try {
      this.io.unlinkSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('unlink', `could not remove ${file}`, e);
    }
  }
}

/** Seqs of a workstream's checkpoint files, oldest first. */
export function listCheckpointSeqs(io: FsLayer, paths: StatePaths, wsId: string): number[] {
  const dir = paths.checkpointDir(wsId);
  const st = io.lstatSync(dir);
  if (!st) return [];
  if (st.isSymbolicLink() || !st.isDirectory()) throw unsafe(dir);
  return io.readdirSync(dir).flatMap((f) => (/^\d+\.json$/.test(f) ? [Number(f.slice(0, -5))] : [])).sort((a, b) => a - b);
}

/**
 * One human-readable line per manual action (records carrying an operator and an action), derived
 * from the records: time, operator, action, reason, affected ids, seq range.
 */
export function interventionLines(records: readonly LogRecord[]): string[] {
  const lines: string[] = [];
  let group: LogRecord[] = [];
  const flush = () => {
    if (group.length === 0) return;
    const first = group[0]!;
    const last = group[group.length - 1]!;
    const ids = new Set<string>();
    for (const r of group) {
      const ws = r.workstream_id as string | undefined;
      if (r.task_id) ids.add(`${ws}/${String(r.task_id)}`);
      else if (ws) ids.add(ws);
      if (r.worker_id) ids.add(`worker:${String(r.worker_id)}`);
      if (r.resource_id) ids.add(`resource:${String(r.resource_id)}`);
    }
    const seqs = first.seq === last.seq ? `${first.seq}` : `${first.seq}-${last.seq}`;
    lines.push(`${first.ts} operator=${JSON.stringify(first.operator)} action=${String(first.action)} reason=${JSON.stringify(first.reason ?? '')} ids=${[...ids].join(',') || '-'} seq=${seqs}\n`);
    group = [];
  };
  for (const r of records) {
    if (r.operator === null || typeof r.action !== 'string') {
      flush();
      continue;
    }
    const head = group[0];
    if (head && (head.ts !== r.ts || head.operator !== r.operator || head.action !== r.action)) flush();
    group.push(r);
  }
  flush();
  return lines;
}

/** Appends lines to interventions.log (0600, never a symlink). */
export function appendInterventions(io: FsLayer, paths: StatePaths, lines: string[]): void {
  if (lines.length === 0) return;
  const fd = io.openSync(paths.interventions, FLAGS.appendText, FILE_MODE);
  try {
    writeAll(io, fd, Buffer.from(lines.join('')));
    io.fdatasyncSync(fd);
  } finally {
    io.closeSync(fd);
  }
}
