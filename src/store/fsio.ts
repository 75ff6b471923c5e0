import * as fs from 'node:fs';
import { CairnError } from '../errors.js';
import { segmentedFs } from './segmented-fs.js';
import type { Layout } from './segments.js';

/**
 * The file-system calls the store makes, as one injectable object. Production uses `realFs`; the
 * power-loss and fault suites pass a layer that records unsynced writes or fails on purpose, so the
 * exact code that runs in production is the code those suites break.
 */
export interface FsLayer {
  openSync(path: string, flags: number, mode?: number): number;
  closeSync(fd: number): void;
  writeSync(fd: number, buf: Buffer, offset: number, length: number, position: number | null): number;
  readSync(fd: number, buf: Buffer, offset: number, length: number, position: number | null): number;
  fsyncSync(fd: number): void;
  fdatasyncSync(fd: number): void;
  ftruncateSync(fd: number, len: number): void;
  fstatSync(fd: number): fs.Stats;
  lstatSync(path: string): fs.Stats | undefined;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  mkdirSync(path: string, mode: number): void;
  rmdirSync(path: string): void;
  readdirSync(path: string): string[];
  fchmodSync(fd: number, mode: number): void;
  chmodSync(path: string, mode: number): void;
  /** access(2); optional, so a test layer without it skips the up-front permission check (root.ts). */
  accessSync?(path: string, mode: number): void;
  /** The segments and active file a descriptor of a rotated log spans (segmented-fs.ts); undefined for any other. */
  logLayout?(fd: number): Layout | undefined;
}

/** The plain file system, without the rotated log's one-file view. */
export const plainFs: FsLayer = {
  openSync: (p, f, m) => fs.openSync(p, f, m),
  closeSync: (fd) => fs.closeSync(fd),
  writeSync: (fd, b, o, l, pos) => fs.writeSync(fd, b, o, l, pos),
  readSync: (fd, b, o, l, pos) => fs.readSync(fd, b, o, l, pos),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  ftruncateSync: (fd, len) => fs.ftruncateSync(fd, len),
  fstatSync: (fd) => fs.fstatSync(fd),
  lstatSync: (p) => fs.lstatSync(p, { throwIfNoEntry: false }),
  renameSync: (a, b) => fs.renameSync(a, b),
  unlinkSync: (p) => fs.unlinkSync(p),
  mkdirSync: (p, m) => { fs.mkdirSync(p, { mode: m }); },
  rmdirSync: (p) => fs.rmdirSync(p),
  readdirSync: (p) => fs.readdirSync(p),
  fchmodSync: (fd, m) => fs.fchmodSync(fd, m),
  chmodSync: (p, m) => fs.chmodSync(p, m),
  accessSync: (p, m) => fs.accessSync(p, m),
};

/** What production uses: the file system, with transitions.jsonl read across its segments (segmented-fs.ts). */
export const realFs: FsLayer = segmentedFs(plainFs);

const C = fs.constants;
/** Open flags used by the store. O_NOFOLLOW everywhere: a symlink planted in .state is never followed. */
export const FLAGS = {
  appendLog: C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NOFOLLOW,
  read: C.O_RDONLY | C.O_NOFOLLOW,
  readWrite: C.O_RDWR | C.O_NOFOLLOW,
  createExclusive: C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW,
  appendText: C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NOFOLLOW,
  directory: C.O_RDONLY | C.O_DIRECTORY,
} as const;

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** Writes all of `buf`, looping over short writes and retrying EINTR/EAGAIN. */
export function writeAll(io: FsLayer, fd: number, buf: Buffer, position: number | null = null): void {
  let off = 0;
  let pos = position;
  while (off < buf.length) {
    let n: number;
    try {
      n = io.writeSync(fd, buf, off, buf.length - off, pos);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EINTR' || code === 'EAGAIN') continue;
      throw e;
    }
    if (n <= 0) throw ioError('write', 'a write made no progress', undefined);
    off += n;
    if (pos !== null) pos += n;
  }
}

/** Reads a whole small file through the layer; undefined when it does not exist. */
export function readWhole(io: FsLayer, path: string, maxBytes = 512 * 1024 * 1024): Buffer | undefined {
  let fd: number;
  try {
    fd = io.openSync(path, FLAGS.read);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw unsafe(path);
    throw e;
  }
  try {
    const size = io.fstatSync(fd).size;
    if (size > maxBytes) throw new CairnError('SNAPSHOT_INVALID', `${path} is ${size} bytes, more than cairn reads (${maxBytes})`);
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = io.readSync(fd, buf, off, size - off, off);
      if (n <= 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    io.closeSync(fd);
  }
}

/**
 * fdatasync through the layer without blocking the event loop when the layer's is the real one: it
 * runs on libuv's thread pool, so a scheduler keeps reading its workers' messages while its log
 * syncs. A layer with its own fdatasyncSync (the fault and crash suites) is called as it is.
 */
export function fdatasyncOf(io: FsLayer, fd: number): Promise<void> | void {
  if (io.fdatasyncSync !== realFs.fdatasyncSync) return io.fdatasyncSync(fd);
  return new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
}

/** fsync of a folder, so a rename or create inside it survives a power cut. */
export function fsyncDir(io: FsLayer, dir: string): void {
  const fd = io.openSync(dir, FLAGS.directory);
  try {
    io.fsyncSync(fd);
  } finally {
    io.closeSync(fd);
  }
}

export function unsafe(path: string): CairnError {
  return new CairnError('UNSAFE_PATH', `${path} is a symbolic link or not what cairn expects; refusing to follow it`, {
    details: { path },
    hint: 'Move the link away and put the real file or folder back (cairn never follows links inside its state folder).',
  });
}

export function ioError(op: string, msg: string, cause: unknown): CairnError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new CairnError('IO_ERROR', `${op} failed: ${msg}${code ? ` (${code})` : ''}`, {
    details: { op, errno: code ?? null },
    hint: code === 'ENOSPC' ? 'Free some disk space, then run the command again; nothing was reported as done that is not on disk.'
      : 'Check the disk, then run the command again; nothing was reported as done that is not on disk.',
    cause,
  });
}
