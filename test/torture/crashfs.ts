import * as fs from 'node:fs';
import * as path from 'node:path';
import { type FsLayer, realFs } from '../../src/store/fsio.js';
import type { Rng } from './prng.js';

/**
 * A file-system layer that simulates power loss. Every call goes to the real files (so the store
 * sees a normal disk), and alongside it keeps a model of what is DURABLE:
 *
 * - per file: its content as of its last fsync/fdatasync, plus the writes and truncations since;
 * - per folder: its entries (name → file or folder) as of its last fsync, plus the creates,
 *   renames and unlinks since.
 *
 * `materialize` builds one disk image as it could be after a power cut at this instant: each
 * unsynced write kept, dropped, cut short or turned to garbage; each unsynced create, rename or
 * unlink kept or dropped (a rename all or nothing), either in journal order (a prefix of them) or
 * each on its own. Synced data and synced names are always kept. This is the model POSIX allows and
 * ext4/xfs approximate: fsync of a file does not make its name durable, fsync of its folder does.
 */
type DataOp = { kind: 'write'; off: number; data: Buffer } | { kind: 'trunc'; len: number };
type NameOpBody =
  | { kind: 'link'; name: string; node: number }
  | { kind: 'unlink'; name: string; node: number }
  | { kind: 'rename'; from: string; to: string; node: number };
type NameOp = NameOpBody & { seq: number; group: number };

interface FileNode {
  kind: 'file';
  durable: Buffer;
  pending: DataOp[];
}

interface DirNode {
  kind: 'dir';
  durable: Map<string, number>;
  live: Map<string, number>;
  pending: NameOp[];
}

interface OpenFile {
  node: number;
  append: boolean;
  pos: number;
  rel: string;
}

/** How the pending operations of one image were treated. */
export interface ImageStats {
  writesKept: number;
  writesDropped: number;
  writesCut: number;
  writesGarbled: number;
  namesKept: number;
  namesDropped: number;
}

const C = fs.constants;

export class CrashFs implements FsLayer {
  private readonly nodes = new Map<number, FileNode | DirNode>();
  private nextId = 1;
  private readonly rootId: number;
  private readonly fds = new Map<number, OpenFile>();
  private opSeq = 0;
  /** Mutating calls so far: every one is a possible crash point. */
  mutations = 0;
  /** Renames between two folders (the store should make none; they are modelled as two name ops). */
  crossFolderRenames = 0;
  /**
   * Byte offsets where a write to a file ended (and each file's size when tracking began), by path
   * relative to the root: for the log these are the batch boundaries, so a check can tell an image
   * whose log ends inside a group-commit batch.
   */
  readonly writeEnds = new Map<string, Set<number>>();
  /** Called before each mutating call with its 1-based index and a label: "crash just before this". */
  onMutation: ((index: number, label: string) => void) | null = null;

  constructor(readonly root: string) {
    this.root = path.resolve(root);
    this.rootId = this.scan(this.root);
  }

  private add(n: FileNode | DirNode): number {
    const id = this.nextId++;
    this.nodes.set(id, n);
    return id;
  }

  /** Takes the existing tree as durable. */
  private scan(p: string): number {
    const st = fs.lstatSync(p);
    if (st.isDirectory()) {
      const entries = new Map<string, number>();
      for (const name of fs.readdirSync(p)) {
        const cst = fs.lstatSync(path.join(p, name));
        if (cst.isSymbolicLink()) continue;
        entries.set(name, this.scan(path.join(p, name)));
      }
      return this.add({ kind: 'dir', durable: new Map(entries), live: entries, pending: [] });
    }
    const data = fs.readFileSync(p);
    this.writeEnds.set(path.relative(this.root, p), new Set([0, data.length]));
    return this.add({ kind: 'file', durable: data, pending: [] });
  }

  private dir(id: number): DirNode {
    const n = this.nodes.get(id);
    if (!n || n.kind !== 'dir') throw new Error(`crashfs: node ${id} is not a folder`);
    return n;
  }

  /** The parent folder and last name of `p`, or null when `p` is outside the tracked root (or is the root). */
  private resolve(p: string): { parent: DirNode; name: string } | null {
    const rel = path.relative(this.root, path.resolve(p));
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
    const parts = rel.split(path.sep);
    let cur = this.dir(this.rootId);
    for (const part of parts.slice(0, -1)) {
      const id = cur.live.get(part);
      const n = id === undefined ? undefined : this.nodes.get(id);
      if (!n || n.kind !== 'dir') return null;
      cur = n;
    }
    return { parent: cur, name: parts[parts.length - 1]! };
  }

  private lookup(p: string): number | undefined {
    if (path.resolve(p) === this.root) return this.rootId;
    const r = this.resolve(p);
    return r ? r.parent.live.get(r.name) : undefined;
  }

  private mutate(label: string): void {
    this.mutations++;
    this.onMutation?.(this.mutations, label);
  }

  private nameOp(parent: DirNode, op: NameOpBody, group?: number): number {
    const seq = ++this.opSeq;
    parent.pending.push({ ...op, seq, group: group ?? seq });
    return seq;
  }

  openSync(p: string, flags: number, mode?: number): number {
    const known = this.lookup(p);
    const creating = (flags & C.O_CREAT) !== 0 && known === undefined;
    if (creating) this.mutate(`create ${path.basename(p)}`);
    const fd = realFs.openSync(p, flags, mode);
    let id = known;
    if (id === undefined) {
      const r = this.resolve(p);
      if (!r) return fd; // outside the tracked tree
      if (creating) {
        id = this.add({ kind: 'file', durable: Buffer.alloc(0), pending: [] });
        r.parent.live.set(r.name, id);
        this.nameOp(r.parent, { kind: 'link', name: r.name, node: id });
      } else {
        // Made by something that bypasses the layer: take it as it is, durably.
        id = this.add({ kind: 'file', durable: fs.readFileSync(p), pending: [] });
        r.parent.live.set(r.name, id);
        r.parent.durable.set(r.name, id);
      }
    }
    if ((flags & C.O_TRUNC) !== 0) {
      const n = this.nodes.get(id)!;
      if (n.kind === 'file') n.pending.push({ kind: 'trunc', len: 0 });
    }
    this.fds.set(fd, { node: id, append: (flags & C.O_APPEND) !== 0, pos: 0, rel: path.relative(this.root, path.resolve(p)) });
    return fd;
  }

  closeSync(fd: number): void {
    this.fds.delete(fd);
    realFs.closeSync(fd);
  }

  writeSync(fd: number, buf: Buffer, offset: number, length: number, position: number | null): number {
    const of = this.fds.get(fd);
    if (!of) return realFs.writeSync(fd, buf, offset, length, position);
    this.mutate('write');
    const at = position !== null ? position : of.append ? realFs.fstatSync(fd).size : of.pos;
    const n = realFs.writeSync(fd, buf, offset, length, position);
    const node = this.nodes.get(of.node)!;
    if (node.kind === 'file') node.pending.push({ kind: 'write', off: at, data: Buffer.from(buf.subarray(offset, offset + n)) });
    let ends = this.writeEnds.get(of.rel);
    if (!ends) this.writeEnds.set(of.rel, (ends = new Set([0])));
    ends.add(at + n);
    if (position === null && !of.append) of.pos = at + n;
    return n;
  }

  readSync(fd: number, buf: Buffer, offset: number, length: number, position: number | null): number {
    return realFs.readSync(fd, buf, offset, length, position);
  }

  fsyncSync(fd: number): void {
    this.sync(fd, 'fsync');
  }

  fdatasyncSync(fd: number): void {
    this.sync(fd, 'fdatasync');
  }

  private sync(fd: number, what: 'fsync' | 'fdatasync'): void {
    const of = this.fds.get(fd);
    if (of) this.mutate(what);
    if (what === 'fsync') realFs.fsyncSync(fd);
    else realFs.fdatasyncSync(fd);
    if (!of) return;
    const node = this.nodes.get(of.node)!;
    if (node.kind === 'file') {
      node.durable = applyData(node.durable, node.pending);
      node.pending = [];
    } else {
      node.durable = new Map(node.live);
      node.pending = [];
    }
  }

  ftruncateSync(fd: number, len: number): void {
    const of = this.fds.get(fd);
    if (of) this.mutate('ftruncate');
    realFs.ftruncateSync(fd, len);
    const node = of && this.nodes.get(of.node);
    if (node?.kind === 'file') node.pending.push({ kind: 'trunc', len });
  }

  fstatSync(fd: number): fs.Stats {
    return realFs.fstatSync(fd);
  }

  lstatSync(p: string): fs.Stats | undefined {
    return realFs.lstatSync(p);
  }

  renameSync(from: string, to: string): void {
    const a = this.resolve(from);
    const b = this.resolve(to);
    if (a && b) this.mutate(`rename ${path.basename(from)} -> ${path.basename(to)}`);
    realFs.renameSync(from, to);
    if (!a || !b) return;
    const id = a.parent.live.get(a.name);
    if (id === undefined) return;
    a.parent.live.delete(a.name);
    b.parent.live.set(b.name, id);
    if (a.parent === b.parent) this.nameOp(a.parent, { kind: 'rename', from: a.name, to: b.name, node: id });
    else {
      this.crossFolderRenames++;
      const g = this.nameOp(b.parent, { kind: 'link', name: b.name, node: id });
      this.nameOp(a.parent, { kind: 'unlink', name: a.name, node: id }, g);
    }
  }

  unlinkSync(p: string): void {
    const r = this.resolve(p);
    if (r) this.mutate(`unlink ${path.basename(p)}`);
    realFs.unlinkSync(p);
    this.forget(r);
  }

  rmdirSync(p: string): void {
    const r = this.resolve(p);
    if (r) this.mutate(`rmdir ${path.basename(p)}`);
    realFs.rmdirSync(p);
    this.forget(r);
  }

  private forget(r: { parent: DirNode; name: string } | null): void {
    const id = r?.parent.live.get(r.name);
    if (!r || id === undefined) return;
    r.parent.live.delete(r.name);
    this.nameOp(r.parent, { kind: 'unlink', name: r.name, node: id });
  }

  mkdirSync(p: string, mode: number): void {
    const r = this.resolve(p);
    if (r) this.mutate(`mkdir ${path.basename(p)}`);
    realFs.mkdirSync(p, mode);
    if (!r) return;
    const id = this.add({ kind: 'dir', durable: new Map(), live: new Map(), pending: [] });
    r.parent.live.set(r.name, id);
    this.nameOp(r.parent, { kind: 'link', name: r.name, node: id });
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

  /** Unsynced operations right now (data ops, name ops): how much a crash here could lose. */
  pendingCounts(): { data: number; names: number } {
    let data = 0;
    let names = 0;
    for (const n of this.nodes.values()) {
      if (n.kind === 'file') data += n.pending.length;
      else names += n.pending.length;
    }
    return { data, names };
  }

  /** Writes into `out` (a new folder) a disk image as a power cut right now could leave it. */
  materialize(out: string, rng: Rng): ImageStats {
    const stats: ImageStats = { writesKept: 0, writesDropped: 0, writesCut: 0, writesGarbled: 0, namesKept: 0, namesDropped: 0 };
    const ordered = rng.chance(0.5);
    const cut = ordered ? rng.int(0, this.opSeq + 1) : 0;
    const keepGroup = new Map<number, boolean>();
    const kept = (op: NameOp): boolean => {
      let k = keepGroup.get(op.group);
      if (k === undefined) {
        k = ordered ? op.group < cut : rng.chance(0.5);
        keepGroup.set(op.group, k);
      }
      return k;
    };
    const entriesOf = (d: DirNode): Map<string, number> => {
      const e = new Map(d.durable);
      for (const op of d.pending) {
        if (!kept(op)) {
          stats.namesDropped++;
          continue;
        }
        stats.namesKept++;
        if (op.kind === 'link') e.set(op.name, op.node);
        else if (op.kind === 'unlink') {
          if (e.get(op.name) === op.node) e.delete(op.name);
        } else {
          if (e.get(op.from) === op.node) e.delete(op.from);
          e.set(op.to, op.node);
        }
      }
      return e;
    };
    const contents = new Map<number, Buffer>();
    const contentOf = (id: number, f: FileNode): Buffer => {
      let c = contents.get(id);
      if (c) return c;
      c = Buffer.from(f.durable);
      for (const op of f.pending) {
        if (op.kind === 'trunc') {
          if (rng.chance(0.5)) c = applyData(c, [op]);
          continue;
        }
        const how = rng.weighted([[40, 'keep'], [25, 'drop'], [20, 'cut'], [15, 'garbage']] as const);
        if (how === 'drop' || op.data.length === 0) {
          stats.writesDropped++;
          continue;
        }
        let data = op.data;
        if (how === 'cut') {
          data = data.subarray(0, rng.int(0, data.length - 1));
          stats.writesCut++;
        } else if (how === 'garbage') {
          data = rng.bytes(rng.int(1, data.length));
          stats.writesGarbled++;
        } else stats.writesKept++;
        c = applyData(c, [{ kind: 'write', off: op.off, data }]);
      }
      contents.set(id, c);
      return c;
    };
    const seen = new Set<number>();
    const write = (id: number, p: string): void => {
      if (seen.has(id)) return;
      const n = this.nodes.get(id)!;
      if (n.kind === 'dir') {
        seen.add(id);
        fs.mkdirSync(p, { mode: 0o700 });
        for (const [name, child] of entriesOf(n)) write(child, path.join(p, name));
      } else {
        fs.writeFileSync(p, contentOf(id, n), { mode: 0o600 });
      }
    };
    write(this.rootId, out);
    return stats;
  }
}

/** Applies data ops to a copy of `base`. */
function applyData(base: Buffer, ops: readonly DataOp[]): Buffer {
  let c = base;
  for (const op of ops) {
    if (op.kind === 'trunc') {
      c = op.len <= c.length ? Buffer.from(c.subarray(0, op.len)) : Buffer.concat([c, Buffer.alloc(op.len - c.length)]);
      continue;
    }
    const end = op.off + op.data.length;
    if (end > c.length) c = Buffer.concat([c, Buffer.alloc(end - c.length)]);
    else c = Buffer.from(c);
    op.data.copy(c, op.off);
  }
  return c;
}
