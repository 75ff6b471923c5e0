import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FILE_MODE, FLAGS, type FsLayer, fsyncDir, ioError, writeAll } from './fsio.js';

/**
 * Replaces `target` atomically and durably. MUST, in this order:
 *   1. create a temp file in the SAME folder, exclusively (`wx`, O_NOFOLLOW, mode 0600),
 *   2. write all bytes and fsync the temp file (data on disk before the name points to it),
 *   3. rename over the target (all or nothing),
 *   4. fsync the folder (the rename itself survives a power cut).
 * On any failure the temp file is removed and the old target is left untouched.
 */
export function atomicWrite(io: FsLayer, target: string, data: string | Buffer): void {
  prepareAtomic(io, target, data).commit();
}

/**
 * Replaces `target` atomically (a reader sees the old file or the new one, never a part) but not
 * durably: steps 1 and 3 only. For files rewritten every second whose loss in a power cut costs
 * nothing (workers.json: live health, git-ignored, rewritten by the next tick). Two fsyncs a second
 * on the scheduler's main thread were its largest synchronous cost after the log itself.
 */
export function volatileReplace(io: FsLayer, target: string, data: string | Buffer): void {
  prepareAtomic(io, target, data, false).commit();
}

/** A temp file written and fsynced (steps 1 and 2 of atomicWrite), waiting to be put in place. */
export interface PreparedWrite {
  /** Steps 3 and 4: renames the temp file over the target and fsyncs the folder. */
  commit(): void;
  /** Removes the temp file; the target is left untouched. */
  abort(): void;
}

/**
 * Steps 1 and 2 of atomicWrite, so a large file can be written and made durable before a lock is
 * taken, and only renamed into place under it.
 */
export function prepareAtomic(io: FsLayer, target: string, data: string | Buffer, durable = true): PreparedWrite {
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const abort = () => {
    try { io.unlinkSync(tmp); } catch { /* it may not exist */ }
  };
  let fd: number | undefined;
  try {
    fd = io.openSync(tmp, FLAGS.createExclusive, FILE_MODE);
    io.fchmodSync(fd, FILE_MODE); // whatever the umask
    writeAll(io, fd, buf, 0);
    if (durable) io.fsyncSync(fd);
    io.closeSync(fd);
    fd = undefined;
  } catch (e) {
    if (fd !== undefined) {
      try { io.closeSync(fd); } catch { /* already failing */ }
    }
    abort();
    throw ioError('atomic write', `could not replace ${target}`, e);
  }
  const commit = () => {
    try {
      io.renameSync(tmp, target);
    } catch (e) {
      abort();
      throw ioError('atomic write', `could not replace ${target}`, e);
    }
    if (!durable) return;
    try {
      fsyncDir(io, dir);
    } catch (e) {
      throw ioError('folder fsync', `the new ${path.basename(target)} may not survive a power cut`, e);
    }
  };
  return { commit, abort };
}

/** Temp files left by a crash in the middle of atomicWrite: `.<name>.tmp-<pid>-<hex>`. */
export const TEMP_NAME = /^\..+\.tmp-\d+-[0-9a-f]{8}$/;
