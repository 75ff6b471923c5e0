import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { randomFillSync } from 'node:crypto';
import { unsafe } from './fsio.js';

/**
 * The owner file of a lock folder: how it is made, read and taken over (lock.ts holds it).
 *
 * Made by hard link where the filesystem has them: a process keeps one candidate file per lock
 * folder, `cand-<random>`, open for its life. Taking the lock writes the instance's content (pid,
 * host, a fresh token, acquired_at) into the candidate — which also makes its mtime fresh, so the
 * instance is never seen stale — then links it as `owner`; link(2), like an O_EXCL create, fails
 * with EEXIST when an owner is there. Releasing unlinks `owner` and keeps the candidate. Creating,
 * writing and removing a new inode per commit cost ~25 µs of system calls and made the log's
 * fdatasync commit the inode allocation too; a write, a link and an unlink cost ~9 µs (ext4).
 * Where links fail (EPERM, ENOTSUP: FAT, some network filesystems) the owner file is created with
 * O_EXCL, as it is with CAIRN_LOCK_NO_LINKS=1 (how the tests exercise that path).
 *
 * MUST: a candidate still linked as `owner` after its holder lost the lock (compromised; the
 * instance is left to go stale) is never written again — that would make a dead instance fresh —
 * but replaced by a new candidate, so the old instance is reclaimed like any other.
 */

export const OWNER = 'owner';
const RECLAIM = 'reclaim-';
const CAND = 'cand-';
const C = fs.constants;
const LINKS = process.env.CAIRN_LOCK_NO_LINKS !== '1';

/** This machine's name, read once: it goes into every owner file (a uname call per commit otherwise). */
let host: string | undefined;
export const thisHost = (): string => (host ??= hostname());

/** What an owner file says, read from one open descriptor (so stat and content are one instance). */
export interface OwnerInfo {
  ino: number;
  mtimeMs: number;
  token: string | null;
  pid: number | null;
  host: string | null;
  acquired_at: string | null;
  /** The holder's start time from /proc (ticks since boot), to tell it from a later process with its pid. */
  process_start: string | null;
}

/** This process's candidate file in one lock folder. */
export interface Candidate {
  readonly path: string;
  readonly fd: number;
  readonly ino: number;
  /** Bytes of content written last (a shorter content is followed by a truncate). */
  len: number;
  /** The lock of this process that holds it now (one at a time per folder), or null. */
  holder: object | null;
  /** Whether the candidate is linked as `owner` (from the link until its holder unlinked it). */
  linked: boolean;
}

const candidates = new Map<string, Candidate>();
/** Candidates kept open at once: a process that works on many state folders (a test run) closes the oldest idle ones. */
const MAX_CANDIDATES = 16;
/** Lock folders whose filesystem refused a hard link: the owner file is created there. */
const noLinks = new Set<string>();
const swept = new Set<string>();

/** The candidate of this process in `dir` when one of its locks holds that folder's lock now. */
export function localHolder(dir: string): object | null {
  return candidates.get(dir)?.holder ?? null;
}

export interface MadeOwner { fd: number; ino: number; cand: Candidate | null }

/**
 * Makes `<dir>/owner` this process's, with `content`: the descriptor and inode of the new owner
 * file, 'exists' when there is an owner, 'missing' when the folder (or the candidate) is gone.
 */
export function makeOwner(dir: string, content: string, staleMs: number): MadeOwner | 'exists' | 'missing' {
  if (LINKS && !noLinks.has(dir)) {
    const r = byLink(dir, content, staleMs);
    if (r !== 'unsupported') return r;
  }
  return byCreate(path.join(dir, OWNER), content);
}

function byLink(dir: string, content: string, staleMs: number): MadeOwner | 'exists' | 'missing' | 'unsupported' {
  let c = candidates.get(dir);
  // Linked still: its holder lost the lock (or is losing it) and left the instance in place.
  if (c?.linked) {
    dropCandidate(dir, c);
    c = undefined;
  }
  if (!c) {
    const made = newCandidate(dir, staleMs);
    if (made === 'missing') return made;
    c = made;
  }
  const len = fs.writeSync(c.fd, content, 0);
  if (len < c.len) fs.ftruncateSync(c.fd, len);
  c.len = len;
  try {
    fs.linkSync(c.path, path.join(dir, OWNER));
  } catch (e) {
    switch ((e as NodeJS.ErrnoException).code) {
      case 'EEXIST': return 'exists';
      case 'ENOENT':
        // Our candidate was swept by another process (it looked abandoned), or the folder is gone.
        dropCandidate(dir, c);
        return 'missing';
      case 'EPERM': case 'ENOTSUP': case 'EOPNOTSUPP': case 'EMLINK': case 'EXDEV': case 'ENOSYS':
        noLinks.add(dir);
        dropCandidate(dir, c);
        return 'unsupported';
      case 'ENOTDIR': throw unsafe(dir);
      default: throw e;
    }
  }
  c.linked = true;
  return { fd: c.fd, ino: c.ino, cand: c };
}

function newCandidate(dir: string, staleMs: number): Candidate | 'missing' {
  if (!swept.has(dir)) {
    swept.add(dir);
    sweepCandidates(dir, staleMs);
  }
  if (candidates.size >= MAX_CANDIDATES) {
    for (const [d, old] of candidates) {
      if (old.holder === null) {
        dropCandidate(d, old);
        break;
      }
    }
  }
  const p = path.join(dir, `${CAND}${newToken()}`);
  const fd = createExclusive(p, C.O_RDWR, dir);
  // A random name taken already is as good as a missing folder: the caller tries again.
  if (fd === 'exists' || fd === 'missing') return 'missing';
  const ino = inodeOfNew(p, fd);
  const c: Candidate = { path: p, fd, ino, len: 0, holder: null, linked: false };
  candidates.set(dir, c);
  return c;
}

/**
 * Removes the candidates of processes that died (not touched for the stale time). One of a live
 * process that was idle that long may go too: that process makes a new one when its link finds
 * the candidate gone, and a candidate linked as owner keeps its inode through the owner link.
 */
function sweepCandidates(dir: string, staleMs: number): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(CAND)) continue;
    const p = path.join(dir, n);
    const st = lstat(p);
    if (st?.isFile() && isStale(st.mtimeMs, staleMs)) {
      try { fs.unlinkSync(p); } catch { /* another process swept it */ }
    }
  }
}

function dropCandidate(dir: string, c: Candidate): void {
  if (candidates.get(dir) === c) candidates.delete(dir);
  try { fs.unlinkSync(c.path); } catch { /* swept */ }
  try { fs.closeSync(c.fd); } catch { /* closed */ }
}

function byCreate(file: string, content: string): MadeOwner | 'exists' | 'missing' {
  const fd = createExclusive(file, C.O_WRONLY, path.dirname(file));
  if (fd === 'exists' || fd === 'missing') return fd;
  return { fd, ino: inodeOfNew(file, fd, content), cand: null };
}

/** Creates `file` exclusively (0600, never through a symlink): its descriptor, or why not. */
function createExclusive(file: string, access: number, dir: string): number | 'exists' | 'missing' {
  try {
    return fs.openSync(file, access | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
  } catch (e) {
    switch ((e as NodeJS.ErrnoException).code) {
      case 'EEXIST': return 'exists';
      case 'ENOENT': return 'missing';
      case 'ENOTDIR': throw unsafe(dir);
      default: throw e;
    }
  }
}

/** The inode of a file this process just created, after writing `content` to it; on any failure the file is removed again. */
function inodeOfNew(file: string, fd: number, content?: string): number {
  try {
    if (content !== undefined) fs.writeSync(fd, content);
    return fs.fstatSync(fd).ino;
  } catch (e) {
    // The file is ours: leave no half-made lock behind.
    try { fs.unlinkSync(file); } catch { /* gone */ }
    try { fs.closeSync(fd); } catch { /* closed */ }
    throw e;
  }
}

/**
 * Gives the owner file up after its holder unlinked it (`unlinked`) or left it in place. A
 * candidate stays open for the next lock; a created owner file is closed.
 */
export function letGo(made: MadeOwner, unlinked: boolean): void {
  if (made.cand) {
    made.cand.holder = null;
    if (unlinked) made.cand.linked = false;
  } else {
    try { fs.closeSync(made.fd); } catch { /* closed already */ }
  }
}

/** Closes and removes this process's candidate in `dir` unless one of its locks holds it now. */
export function forgetCandidate(dir: string): void {
  const c = candidates.get(dir);
  if (c && c.holder === null) dropCandidate(dir, c);
}

/** At exit: every candidate of this process removed (an owner link of one stays until released or reclaimed). */
export function removeCandidates(): void {
  for (const [dir, c] of candidates) dropCandidate(dir, c);
}

/** Random bytes drawn 4 KiB at a time: one crypto call per 512 tokens instead of one per lock taken. */
const tokenPool = Buffer.alloc(4096);
let tokenNext = tokenPool.length;

/** A fresh random 64-bit token, as 16 hex digits. */
export function newToken(): string {
  if (tokenNext === tokenPool.length) {
    randomFillSync(tokenPool);
    tokenNext = 0;
  }
  tokenNext += 8;
  return tokenPool.toString('hex', tokenNext - 8, tokenNext);
}

/**
 * Removes the dead lock instance `info` (seen at `<dir>/owner`) unless another process is already
 * doing so. True when the caller should try to create the lock again at once.
 */
export function reclaim(dir: string, info: OwnerInfo, staleMs: number, dead: (i: OwnerInfo) => boolean): boolean {
  const id = info.token ?? `ino${info.ino}`;
  // The first free marker level whose predecessors all went stale (their takers died half-way).
  let marker: string | null = null;
  for (let k = 1; k <= 64 && marker === null; k++) {
    const m = path.join(dir, `${RECLAIM}${id}.${k}`);
    try {
      fs.closeSync(fs.openSync(m, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600));
      marker = m;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false;
      const st = lstat(m);
      if (st && !isStale(st.mtimeMs, staleMs)) return false; // another taker is at work
    }
  }
  if (marker === null) return false;
  // Ours to act on. Is the owner file still the instance judged dead? A fresh lock has another
  // token and inode and is left alone.
  const now = readOwner(path.join(dir, OWNER));
  if (now !== null && now.ino === info.ino && now.token === info.token && dead(now)) {
    try { fs.unlinkSync(path.join(dir, OWNER)); } catch { /* its holder released it meanwhile */ }
  }
  // That instance is gone for good (tokens are random): its markers will never be needed again.
  try {
    for (const n of fs.readdirSync(dir)) if (n.startsWith(`${RECLAIM}${id}.`)) fs.unlinkSync(path.join(dir, n));
  } catch { /* another taker cleaned up */ }
  return true;
}

/** Reads an owner file through one descriptor; null when there is none. */
export function readOwner(file: string): OwnerInfo | null {
  let fd: number;
  try {
    fd = fs.openSync(file, C.O_RDONLY | C.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    if (code === 'ELOOP') throw unsafe(file);
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw unsafe(file);
    const buf = Buffer.alloc(Math.min(st.size, 4096));
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    let v: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(buf.toString('utf8', 0, n)) as unknown;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) v = parsed as Record<string, unknown>;
    } catch { /* a holder killed between create and write leaves an empty file: it goes stale */ }
    return {
      ino: st.ino,
      mtimeMs: st.mtimeMs,
      token: typeof v.token === 'string' ? v.token : null,
      pid: typeof v.pid === 'number' ? v.pid : null,
      host: typeof v.host === 'string' ? v.host : null,
      acquired_at: typeof v.acquired_at === 'string' ? v.acquired_at : null,
      process_start: typeof v.process_start === 'string' ? v.process_start : null,
    };
  } finally {
    fs.closeSync(fd);
  }
}

/** The lock folder must be a real folder: a symlink could point the lock anywhere. */
export function checkLockDir(dir: string): void {
  const st = lstat(dir);
  if (st && (st.isSymbolicLink() || !st.isDirectory())) throw unsafe(dir);
}

export function isStale(mtimeMs: number, staleMs: number): boolean {
  return mtimeMs < Date.now() - staleMs;
}

export function lstat(p: string): fs.Stats | undefined {
  return fs.lstatSync(p, { throwIfNoEntry: false });
}
