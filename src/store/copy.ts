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

/**
 * Copies the whole state folder to `<state>.repair-copies/<stamp>/` before repair_state changes
 * anything. MUST: the copy is complete and durable before the caller touches the original: every
 * file is copied byte for byte (0600) and fsynced, every folder (0700) fsynced; symlinks are never
 * followed. A destination that exists is never written into.
 */
export function copyStateFolder(io: FsLayer, paths: StatePaths, nowMs: number): CopyResult {
  ensureDir(io, paths.repairCopies);
  let dest = path.join(paths.repairCopies, stampOf(nowMs));
  for (let i = 1; io.lstatSync(dest); i++) dest = path.join(paths.repairCopies, `${stampOf(nowMs)}-${i}`);
  const out: CopyResult = { dest, files: 0, folders: 0, bytes: 0, skipped: [] };
  copyDir(io, paths.root, dest, out, '');
  fsyncDir(io, paths.repairCopies);
  return out;
}

function copyDir(io: FsLayer, from: string, to: string, out: CopyResult, rel: string): void {
  io.mkdirSync(to, DIR_MODE);
  io.chmodSync(to, DIR_MODE);
  out.folders += 1;
  for (const name of io.readdirSync(from).sort()) {
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
