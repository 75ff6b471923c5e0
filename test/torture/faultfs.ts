import * as fs from 'node:fs';
import * as path from 'node:path';
import { type FsLayer, realFs } from '../../src/store/fsio.js';
import type { Rng } from './prng.js';

/** The calls a fault can hit. `create` is an open that creates a file; `dirsync` an fsync of a folder. */
export type FaultOp = 'write' | 'fsync' | 'fdatasync' | 'dirsync' | 'rename' | 'create' | 'ftruncate' | 'mkdir' | 'unlink';

export interface Fault {
  op: FaultOp;
  /** Fires at the nth matching call (1-based), once. */
  nth: number;
  errno: 'EIO' | 'ENOSPC' | 'EDQUOT';
  /** For writes: write a part of the buffer for real first, then fail the next write call ("disk full mid-record"). */
  partial?: boolean;
  /** Only calls on files whose name matches. */
  file?: RegExp;
}

export interface FaultPlan {
  faults: Fault[];
  /** Every write writes only a random part of what it was given (no error). */
  shortWrites?: boolean;
  /** This share of writes fail with EINTR before writing anything. */
  eintr?: number;
}

/**
 * A file-system layer that fails on purpose: EIO or ENOSPC from a chosen call, a disk that fills in
 * the middle of a record (a short write, then ENOSPC), short writes everywhere, EINTR. Everything
 * else goes to the real files. It also remembers how much of each file was last synced, so a test
 * can tell whether what the store reported as done was synced first.
 */
export class FaultFs implements FsLayer {
  private readonly seen = new Map<string, number>();
  private readonly paths = new Map<number, string>();
  private pendingEnospc: string | null = null;
  /** Faults that fired: "EIO on fdatasync transitions.jsonl". */
  readonly fired: string[] = [];
  /** file → its size at its last successful fsync/fdatasync. */
  readonly syncedSize = new Map<string, number>();

  constructor(private readonly plan: FaultPlan, private readonly rng: Rng) {}

  private hit(op: FaultOp, file: string): Fault | null {
    for (const f of this.plan.faults) {
      if (f.op !== op || (f.file && !f.file.test(path.basename(file)))) continue;
      const key = `${op}:${f.file?.source ?? ''}:${f.nth}`;
      const n = (this.seen.get(key) ?? 0) + 1;
      this.seen.set(key, n);
      if (n === f.nth) return f;
    }
    return null;
  }

  private fail(f: Fault, op: string, file: string): never {
    this.fired.push(`${f.errno} on ${op} ${path.basename(file)}`);
    throw Object.assign(new Error(`${f.errno}: injected fault, ${op} '${file}'`), { code: f.errno, errno: -5, syscall: op });
  }

  openSync(p: string, flags: number, mode?: number): number {
    if ((flags & fs.constants.O_CREAT) !== 0 && !realFs.lstatSync(p)) {
      const f = this.hit('create', p);
      if (f) this.fail(f, 'open', p);
    }
    const fd = realFs.openSync(p, flags, mode);
    this.paths.set(fd, p);
    return fd;
  }

  closeSync(fd: number): void {
    this.paths.delete(fd);
    realFs.closeSync(fd);
  }

  writeSync(fd: number, buf: Buffer, offset: number, length: number, position: number | null): number {
    const file = this.paths.get(fd) ?? '?';
    if (this.pendingEnospc === file) {
      this.pendingEnospc = null;
      this.fired.push(`ENOSPC on write ${path.basename(file)} (after a short write)`);
      throw Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    }
    if (this.plan.eintr && this.rng.chance(this.plan.eintr)) {
      throw Object.assign(new Error('EINTR: interrupted system call, write'), { code: 'EINTR', errno: -4, syscall: 'write' });
    }
    const f = this.hit('write', file);
    if (f) {
      if (f.partial && length > 1) {
        const part = this.rng.int(1, length - 1);
        this.pendingEnospc = file;
        return realFs.writeSync(fd, buf, offset, part, position);
      }
      this.fail(f, 'write', file);
    }
    if (this.plan.shortWrites && length > 1) return realFs.writeSync(fd, buf, offset, this.rng.int(1, length), position);
    return realFs.writeSync(fd, buf, offset, length, position);
  }

  readSync(fd: number, buf: Buffer, offset: number, length: number, position: number | null): number {
    return realFs.readSync(fd, buf, offset, length, position);
  }

  fsyncSync(fd: number): void {
    const file = this.paths.get(fd) ?? '?';
    const isDir = realFs.fstatSync(fd).isDirectory();
    const f = this.hit(isDir ? 'dirsync' : 'fsync', file);
    if (f) this.fail(f, isDir ? 'fsync (folder)' : 'fsync', file);
    realFs.fsyncSync(fd);
    if (!isDir) this.syncedSize.set(path.resolve(file), realFs.fstatSync(fd).size);
  }

  fdatasyncSync(fd: number): void {
    const file = this.paths.get(fd) ?? '?';
    const f = this.hit('fdatasync', file);
    if (f) this.fail(f, 'fdatasync', file);
    realFs.fdatasyncSync(fd);
    this.syncedSize.set(path.resolve(file), realFs.fstatSync(fd).size);
  }

  ftruncateSync(fd: number, len: number): void {
    const file = this.paths.get(fd) ?? '?';
    const f = this.hit('ftruncate', file);
    if (f) this.fail(f, 'ftruncate', file);
    realFs.ftruncateSync(fd, len);
    // A truncation only shrinks what is on disk: what was synced below `len` stays synced.
    const s = this.syncedSize.get(path.resolve(file));
    if (s !== undefined && s > len) this.syncedSize.set(path.resolve(file), len);
  }

  fstatSync(fd: number): fs.Stats {
    return realFs.fstatSync(fd);
  }

  lstatSync(p: string): fs.Stats | undefined {
    return realFs.lstatSync(p);
  }

  renameSync(from: string, to: string): void {
    const f = this.hit('rename', to);
    if (f) this.fail(f, 'rename', to);
    realFs.renameSync(from, to);
  }

  unlinkSync(p: string): void {
    const f = this.hit('unlink', p);
    if (f) this.fail(f, 'unlink', p);
    realFs.unlinkSync(p);
  }

  mkdirSync(p: string, mode: number): void {
    const f = this.hit('mkdir', p);
    if (f) this.fail(f, 'mkdir', p);
    realFs.mkdirSync(p, mode);
  }

  rmdirSync(p: string): void {
    realFs.rmdirSync(p);
  }

  readdirSync(p: string): string[] {
    return realFs.readdirSync(p);
  }

  fchmodSync(fd: number, mode: number): void {
    realFs.fchmodSync(fd, mode);
  }

  chmodSync(p: string, mode: number): void {
    realFs.chmodSync(p, mode);
  }
}
