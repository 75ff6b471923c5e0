import * as path from 'node:path';
import { constants as C, type Stats } from 'node:fs';
import type { FsLayer } from './fsio.js';
import { inflate, type Layout, layoutLog, type Piece } from './segments.js';

/**
 * The one reader layer under every reader of the log. Wrapped around an FsLayer, it serves
 * `<dir>/transitions.jsonl` as ONE file when `<dir>/log/` holds segments: opened for reading, it
 * is the segments' content then the active file's, at logical offsets (lstat and fstat give the
 * logical size); opened for writing, it is the active file, and ftruncate takes a logical length.
 * So the scan (logfile.ts), the replays, validate, repair, restore and every history reader read a
 * rotated log exactly as they read an unrotated one, and no byte offset on disk moves when the log
 * is rotated. Without segments every call goes straight through, at the cost of one lstat per open.
 */

const LOG_NAME = 'transitions.jsonl';
/** Virtual descriptors are numbered above any real one. */
const VIRTUAL_BASE = 0x40000000;
const WRITE_FLAGS = C.O_WRONLY | C.O_RDWR;

interface View {
  layout: Layout;
  /** The active file, held open so its inode cannot change under the reader; -1 when there is none. */
  active: number;
  cursor: number;
}

/** An FsLayer whose view of transitions.jsonl spans its segments (see the module comment). */
export function segmentedFs(base: FsLayer): FsLayer & { logLayout(fd: number): Layout | undefined } {
  const views = new Map<number, View>();
  const writers = new Map<number, string>();
  let next = VIRTUAL_BASE;

  const isLog = (p: string) => path.basename(p) === LOG_NAME;

  const read = (v: View, buf: Buffer, off: number, len: number, pos: number): number => {
    let done = 0;
    // Before the base (segments moved out) is read as empty lines: never a record, and every byte
    // after it stays at its logical offset for a reader of the whole file (repair's rewrite).
    const gone = Math.max(0, Math.min(len, (v.layout.pieces[0]?.start ?? 0) - pos));
    if (gone > 0) {
      buf.fill(0x0a, off, off + gone);
      done = gone;
    }
    for (const piece of v.layout.pieces) {
      if (done >= len) break;
      const at = pos + done;
      if (at >= piece.start + piece.length || at < piece.start) continue;
      const n = Math.min(len - done, piece.start + piece.length - at);
      const got = piece.seg === null ? readActive(v, buf, off + done, n, at - piece.start) : readSegment(v, piece, buf, off + done, n, at - piece.start);
      done += got;
      if (got < n) break;
    }
    return done;
  };

  const readActive = (v: View, buf: Buffer, off: number, len: number, pos: number): number => {
    if (v.active < 0) return 0;
    let done = 0;
    while (done < len) {
      const n = base.readSync(v.active, buf, off + done, len - done, pos + done);
      if (n <= 0) break;
      done += n;
    }
    return done;
  };

  const readSegment = (v: View, piece: Piece, buf: Buffer, off: number, len: number, pos: number): number => {
    const got = inflate(base, piece.seg!);
    const have = Math.min(got.data.length, piece.length);
    if (have < piece.length || got.error) noteDamage(v.layout, piece, have, got.error);
    const n = Math.max(0, Math.min(len, have - pos));
    if (n > 0) got.data.copy(buf, off, pos, pos + n);
    // What a damaged segment cannot give is read as empty lines: never a record, so the scan stops
    // there and logfile.ts names the segment.
    if (n < len) buf.fill(0x0a, off + n, off + len);
    return len;
  };

  const logicalStat = (real: Stats | undefined, layout: Layout): Stats => {
    const st = Object.create(real ? Object.getPrototypeOf(real) : Object.prototype) as Stats;
    Object.assign(st, real ?? { ino: 0, dev: 0, mode: C.S_IFREG | 0o600, isFile: (): boolean => true, isDirectory: (): boolean => false, isSymbolicLink: (): boolean => false });
    st.size = layout.size;
    return st;
  };

  return {
    ...base,
    openSync(p, flags, mode) {
      if (!isLog(p)) return base.openSync(p, flags, mode);
      if ((flags & WRITE_FLAGS) !== 0) {
        const fd = base.openSync(p, flags, mode);
        writers.set(fd, p);
        return fd;
      }
      const layout = layoutLog(base, p);
      if (!layout) return base.openSync(p, flags, mode);
      let active = -1;
      try {
        active = base.openSync(p, flags, mode);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      const fd = next++;
      views.set(fd, { layout, active, cursor: 0 });
      return fd;
    },
    closeSync(fd) {
      const v = views.get(fd);
      if (v) {
        views.delete(fd);
        if (v.active >= 0) base.closeSync(v.active);
        return;
      }
      writers.delete(fd);
      base.closeSync(fd);
    },
    readSync(fd, buf, off, len, pos) {
      const v = views.get(fd);
      if (!v) return base.readSync(fd, buf, off, len, pos);
      const at = pos ?? v.cursor;
      const n = read(v, buf, off, Math.max(0, Math.min(len, v.layout.size - at)), at);
      if (pos === null) v.cursor += n;
      return n;
    },
    fstatSync(fd) {
      const v = views.get(fd);
      if (v) return logicalStat(v.active >= 0 ? base.fstatSync(v.active) : undefined, v.layout);
      const st = base.fstatSync(fd);
      const log = writers.get(fd);
      const layout = log ? layoutLog(base, log) : null;
      return layout ? logicalStat(st, { ...layout, size: layout.activeStart + st.size }) : st;
    },
    ftruncateSync(fd, len) {
      const log = writers.get(fd);
      const layout = log ? layoutLog(base, log) : null;
      if (!layout) return base.ftruncateSync(fd, len);
      if (len < layout.activeStart) {
        throw Object.assign(new Error(`cannot cut ${log} back to byte ${len}: the bytes before ${layout.activeStart} are in closed segments (log/)`), { code: 'EINVAL' });
      }
      return base.ftruncateSync(fd, len - layout.activeStart);
    },
    writeSync(fd, buf, off, len, pos) {
      // Writes to the log are appends (O_APPEND): a position would be a logical one.
      if (writers.has(fd) && pos !== null) {
        const layout = layoutLog(base, writers.get(fd)!);
        if (layout) return base.writeSync(fd, buf, off, len, pos - layout.activeStart);
      }
      return base.writeSync(fd, buf, off, len, pos);
    },
    fsyncSync(fd) {
      const v = views.get(fd);
      if (v) return;
      base.fsyncSync(fd);
    },
    lstatSync(p) {
      const st = base.lstatSync(p);
      if (!st || !isLog(p) || !st.isFile()) return st;
      const layout = layoutLog(base, p);
      return layout ? logicalStat(st, layout) : st;
    },
    logLayout(fd) {
      return views.get(fd)?.layout;
    },
  };
}

function noteDamage(layout: Layout, piece: Piece, have: number, error: string | null): void {
  const offset = piece.start + have;
  if (layout.damage.some((d) => d.offset === offset)) return;
  layout.damage.push({
    name: piece.seg!.name, offset, seq: piece.seg!.first,
    reason: error ?? `log/${piece.seg!.name} holds ${have} bytes where its gzip trailer says ${piece.length}`,
  });
  layout.damage.sort((a, b) => a.offset - b.offset);
}
