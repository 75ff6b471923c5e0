import { lineSeq, statedCrc, verifyLine } from '../log/codec.js';

/**
 * Reading a log that git merged line by line (no merge driver): conflict markers, the records of
 * two branches one after the other, or interleaved (a `union` merge). Pure: bytes in, findings out.
 *
 * Every record chains on the crc of the record before it, so the two histories can be told apart
 * whatever order the lines are in: each record is hung under the record it verifies against, from
 * seq 1 (chained on 0). The records every line of descent shares are the common part; at the first
 * record with two children the branches fork. "Ours" is the branch whose first record comes first in
 * the file: git writes our side between `<<<<<<<` and `=======`, theirs between `=======` and `>>>>>>>`.
 */

/** One record line of the merged file. */
export interface MergedLine {
  /** Bytes [start, end) of the file, without the newline. */
  start: number;
  end: number;
  seq: number;
  crc: number;
}

export interface MergedLog {
  /** The last record both branches share: seq 0 when they share none. */
  common: { seq: number; crc: number; line: MergedLine | null };
  /** The records of each branch after the fork, in chain order. */
  ours: MergedLine[];
  theirs: MergedLine[];
  /** Conflict marker lines (<<<<<<<, |||||||, =======, >>>>>>>). */
  markers: number;
  /** Lines that are neither markers nor records of either branch (damage, a third branch). */
  stray: number;
}

const MARKER = /^(<{7}|\|{7}|={7}|>{7})( |$)/;

/** Whether the line is one of git's conflict markers. */
export function isConflictMarker(text: string): boolean {
  return MARKER.test(text);
}

/** Whether `buf` holds a conflict marker at the start of a line (a cheap test before the full analysis). */
export function hasConflictMarkers(buf: Buffer): boolean {
  for (const m of ['<<<<<<<', '=======', '>>>>>>>']) {
    for (let p = buf.indexOf(m); p >= 0; p = buf.indexOf(m, p + 1)) {
      if ((p === 0 || buf[p - 1] === 10) && isConflictMarker(buf.toString('latin1', p, Math.min(buf.length, p + 9)).split('\n')[0]!)) return true;
    }
  }
  return false;
}

interface Node {
  line: MergedLine | null;
  children: Node[];
}

/**
 * Splits a merged log into the common part and the two branches. A log that was never forked has
 * everything in `common` and both branches empty.
 */
export function analyzeMergedLog(buf: Buffer): MergedLog {
  const root: Node = { line: null, children: [] };
  const bySeq = new Map<number, Node[]>([[0, [root]]]);
  const crcOf = (n: Node) => n.line?.crc ?? 0;
  let markers = 0;
  let stray = 0;
  for (let p = 0; p < buf.length;) {
    let nl = buf.indexOf(10, p);
    if (nl < 0) nl = buf.length;
    const start = p;
    p = nl + 1;
    if (nl === start) continue;
    if (buf[start] !== 0x7b) {
      if (isConflictMarker(buf.toString('utf8', start, Math.min(nl, start + 9)))) markers++;
      else stray++;
      continue;
    }
    const seq = lineSeq(buf, start, nl);
    const stated = statedCrc(buf, start, nl);
    const parents = seq > 0 && stated >= 0 ? bySeq.get(seq - 1) ?? [] : [];
    const parent = parents.find((n) => verifyLine(buf, start, nl, crcOf(n)) === stated);
    if (!parent) {
      stray++;
      continue;
    }
    // The same record twice (a line both sides kept) is one node.
    if (parent.children.some((c) => c.line!.crc === stated)) continue;
    const node: Node = { line: { start, end: nl, seq, crc: stated }, children: [] };
    parent.children.push(node);
    const list = bySeq.get(seq);
    if (list) list.push(node);
    else bySeq.set(seq, [node]);
  }
  let at = root;
  while (at.children.length === 1) at = at.children[0]!;
  const chain = (n: Node | undefined): MergedLine[] => {
    const out: MergedLine[] = [];
    for (let x = n; x; x = x.children[0]) out.push(x.line!);
    return out;
  };
  // Children are in file order: the first is ours. A third branch, if any, counts as stray.
  for (const extra of at.children.slice(2)) stray += chain(extra).length;
  return { common: { seq: at.line?.seq ?? 0, crc: crcOf(at), line: at.line }, ours: chain(at.children[0]), theirs: chain(at.children[1]), markers, stray };
}

/** seq, type and ids of a record line, for messages (as far as it can be read). */
export function describeLine(buf: Buffer, l: MergedLine): { seq: number; type: string; ids: string; id: string } {
  try {
    const r = JSON.parse(buf.toString('utf8', l.start, l.end)) as Record<string, unknown>;
    const s = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : '');
    const ids = s('workstream_id') && s('task_id') ? `${s('workstream_id')}/${s('task_id')}` : s('workstream_id') || s('worker_id') || s('resource_id');
    return { seq: l.seq, type: s('type'), ids, id: s('id') };
  } catch {
    return { seq: l.seq, type: '?', ids: '', id: '' };
  }
}
