import * as path from 'node:path';
import { prettyJson } from '../log/canonical.js';
import { isAlive } from '../runner/kill.js';
import { TEMP_NAME, volatileReplace } from './atomic.js';
import { ensureDir } from './derived.js';
import { FILE_MODE, FLAGS, type FsLayer } from './fsio.js';
import { type StatePaths, stampOf } from './paths.js';

/**
 * Files of a running scheduler that are not derived from the log: task and worker logs,
 * workers.json (live health). All are git-ignored.
 */

/**
 * Creates logs/<ws>/ and returns the path of attempt `attempt`'s log (the worker creates it with
 * O_EXCL). A file already there belongs to an attempt whose start was never recorded (the
 * scheduler died between spawning it and writing task_started): it is kept, renamed aside, never
 * overwritten.
 */
export function prepareTaskLog(io: FsLayer, paths: StatePaths, ws: string, task: string, attempt: number, nowMs = Date.now()): string {
  ensureDir(io, paths.logs);
  ensureDir(io, paths.taskLogDir(ws));
  const file = paths.taskLog(ws, task, attempt);
  const st = io.lstatSync(file);
  if (st) io.renameSync(file, `${file.slice(0, -4)}.unrecorded-${stampOf(nowMs)}.log`);
  return file;
}

/** Opens logs/workers/<id>.log for appending (0600, never through a symlink). */
export function openWorkerLog(io: FsLayer, paths: StatePaths, workerId: string): number {
  ensureDir(io, paths.logs);
  ensureDir(io, path.dirname(paths.workerLog(workerId)));
  const fd = io.openSync(paths.workerLog(workerId), FLAGS.appendText, FILE_MODE);
  io.fchmodSync(fd, FILE_MODE);
  return fd;
}

export function writeWorkersFile(io: FsLayer, paths: StatePaths, doc: unknown): void {
  volatileReplace(io, paths.workers, prettyJson(doc));
}

/** Removes temp files left by a process that died in the middle of an atomic write. */
export function removeStaleTemps(io: FsLayer, paths: StatePaths): string[] {
  const removed: string[] = [];
  const dirs = [paths.root, paths.backups, paths.archive, paths.checkpoints, paths.snapshots, paths.segments];
  const st = io.lstatSync(paths.checkpoints);
  if (st?.isDirectory()) for (const d of io.readdirSync(paths.checkpoints)) dirs.push(path.join(paths.checkpoints, d));
  for (const dir of dirs) {
    const ds = io.lstatSync(dir);
    if (!ds || !ds.isDirectory() || ds.isSymbolicLink()) continue;
    for (const f of io.readdirSync(dir)) {
      if (!TEMP_NAME.test(f)) continue;
      const pid = Number(/\.tmp-(\d+)-/.exec(f)![1]);
      if (pid !== process.pid && isAlive(pid, null)) continue;
      try {
        io.unlinkSync(path.join(dir, f));
        removed.push(path.join(dir, f));
      } catch {
        /* gone meanwhile */
      }
    }
  }
  return removed;
}
