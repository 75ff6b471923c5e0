import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CairnError } from '../errors.js';
import { ensureDir } from './derived.js';
import { DIR_MODE, FILE_MODE, FLAGS, type FsLayer, fsyncDir, ioError, writeAll } from './fsio.js';
import { type StatePaths, stampOf } from './paths.js';

/** What a copy of the state folder holds. */
export interface CopyResult {
  dest: string;
  files: number;
  folders: number;
  bytes: number;
  /** Entries that are not plain files or folders (symlinks are never followed), left out. */
  skipped: string[];
}

/** Top-level entries of the state folder a copy leaves out: earlier copies (a copy never holds itself) and the snapshot cache (rebuilt from the log). */
const NOT_COPIED = new Set(['repair-copies', 'snapshots']);
/** A rehearsal (repair-state --dry-run) also leaves out what repair never reads: task logs and the locks. */
const NOT_REHEARSED = new Set(['repair-copies', 'snapshots', 'logs', 'state.lock', 'scheduler.lock']);

/** Where the copy of a repair at `nowMs` goes: `<state>/repair-copies/<stamp>/` (git-ignored), a free name. */
export function repairCopyDest(io: FsLayer, paths: StatePaths, nowMs: number): string {
  let dest = path.join(paths.repairCopies, stampOf(nowMs));
  for (let i = 1; io.lstatSync(dest); i++) dest = path.join(paths.repairCopies, `${stampOf(nowMs)}-${i}`);
  return dest;
}

/**
 * Copies the whole state folder (but earlier copies) to `<state>/repair-copies/<stamp>/` before
 * repair_state changes anything. MUST: the copy is complete and durable before the caller touches
 * the original: every file is copied byte for byte (0600) and fsynced, every folder (0700) fsynced;
 * symlinks are never followed. A destination that exists is never written into.
 */
export function copyStateFolder(io: FsLayer, paths: StatePaths, nowMs: number): CopyResult {
  ensureDir(io, paths.repairCopies);
  const dest = repairCopyDest(io, paths, nowMs);
  const out: CopyResult = { dest, files: 0, folders: 0, bytes: 0, skipped: [] };
  copyDir(io, paths.root, dest, out, '', NOT_COPIED);
  fsyncDir(io, paths.repairCopies);
  return out;
}

/**
 * A scratch copy of the state folder in `dest` (outside it) for repair-state --dry-run to rehearse
 * on: the dry run runs the real repair there, so what it shows is what the real run does.
 */
export function copyForRehearsal(io: FsLayer, paths: StatePaths, dest: string): CopyResult {
  const out: CopyResult = { dest, files: 0, folders: 0, bytes: 0, skipped: [] };
  copyDir(io, paths.root, dest, out, '', NOT_REHEARSED);
  return out;
}

function copyDir(io: FsLayer, from: string, to: string, out: CopyResult, rel: string, leaveOut?: ReadonlySet<string>): void {
  io.mkdirSync(to, DIR_MODE);
  io.chmodSync(to, DIR_MODE);
  out.folders += 1;
  for (const name of io.readdirSync(from).sort()) {
    if (rel === '' && leaveOut?.has(name)) continue;
    const src = path.join(from, name);
    const dst = path.join(to, name);
    const r = rel ? `${rel}/${name}` : name;
    const st = io.lstatSync(src);
    if (!st) continue; // removed meanwhile (a temp file)
    if (st.isDirectory()) copyDir(io, src, dst, out, r);
    else if (st.isFile()) {
      out.bytes += copyFile(io, src, dst);
      out.files += 1;
    } else out.skipped.push(r);
  }
  fsyncDir(io, to);
}

const CHUNK = 1024 * 1024;

function copyFile(io: FsLayer, src: string, dst: string): number {
  let inFd: number;
  try {
    inFd = io.openSync(src, FLAGS.read);
  } catch (e) {
    throw ioError('copy', `cannot read ${src}`, e);
  }
  let outFd: number | undefined;
  try {
    outFd = io.openSync(dst, FLAGS.createExclusive, FILE_MODE);
    io.fchmodSync(outFd, FILE_MODE);
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = 0;
    for (;;) {
      const n = io.readSync(inFd, buf, 0, CHUNK, pos);
      if (n <= 0) break;
      writeAll(io, outFd, buf.subarray(0, n), pos);
      pos += n;
    }
    io.fsyncSync(outFd);
    return pos;
  } catch (e) {
    if (e instanceof CairnError) throw e;
    throw ioError('copy', `cannot copy ${src} to ${dst}`, e);
  } finally {
    io.closeSync(inFd);
    if (outFd !== undefined) io.closeSync(outFd);
  }
}

/**
 * Every file of a state folder a repair may change, with a digest of its content (relative path ->
 * sha-1), leaving out what repair never touches (task logs, earlier copies, the lock folders): the
 * difference of two listings is what a repair wrote, added and removed.
 */
export function digestStateFiles(io: FsLayer, root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string): void => {
    for (const name of io.readdirSync(dir).sort()) {
      if (rel === '' && NOT_REHEARSED.has(name)) continue;
      const abs = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = io.lstatSync(abs);
      if (!st) continue;
      if (st.isDirectory()) walk(abs, r);
      else if (st.isFile()) out.set(r, digestFile(io, abs));
    }
  };
  walk(root, '');
  return out;
}

function digestFile(io: FsLayer, file: string): string {
  const h = createHash('sha1');
  const fd = io.openSync(file, FLAGS.read);
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; ;) {
      const n = io.readSync(fd, buf, 0, CHUNK, pos);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    io.closeSync(fd);
  }
  return h.digest('hex');
}

/** Removes a rehearsal's scratch folder and everything in it (it is outside the state folder). */
export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A new empty folder for a rehearsal, in the system's temp folder. */
export function makeScratch(): string {
  return mkdtempSync(path.join(tmpdir(), 'cairn-repair-rehearsal-'));
}
