import type { LogRecord } from '../model/types.js';
import type { FsLayer } from './fsio.js';
import { corruptError } from './load.js';
import { type LogPosition, scanLogSlice } from './logfile.js';
import { startOf } from './log-base.js';

/**
 * Reads of the log for `cairn history` and `cairn log`: streamed a slice at a time, the chain checked
 * on the way (damage in the middle is LOG_CORRUPT, as for every reader of history), never the whole
 * log in memory.
 */

/** Called after each slice with the bytes read so far and the log's size, for a progress line. */
export type ReadProgress = (done: number, total: number) => void;

/** Records a slice holds (a few MiB of log): a page of `cairn log`, a step of `cairn history`. */
const SLICE = 8192;

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The decision boundaries that cut the log from `from` to the end of the decision holding
 * `untilSeq` into pages of about SLICE records: the first is `from`, the last the end. Only the
 * boundaries are kept (a few hundred for a million records), so a reader can then go through the
 * pages newest first, one page in memory at a time. Lines are not parsed here.
 */
export async function logPages(io: FsLayer, file: string, from: LogPosition, untilSeq: number, progress?: ReadProgress): Promise<LogPosition[]> {
  const pages: LogPosition[] = [from];
  let pos = from;
  while (pos.seq < untilSeq) {
    const r = scanLogSlice(io, file, pos, Math.min(SLICE, untilSeq - pos.seq), () => undefined);
    if (r.problem?.kind === 'corrupt') throw corruptError(r.problem);
    if (r.end.seq === pos.seq) break;
    pos = r.end;
    pages.push(pos);
    progress?.(pos.offset, r.size);
    if (!r.more) break;
    await tick();
  }
  return pages;
}

/**
 * The decisions between two boundaries logPages gave, oldest first, each as its records in order
 * (a decision is its first record's `batch` count of records, or one).
 */
export function pageDecisions(io: FsLayer, file: string, from: LogPosition, to: LogPosition): LogRecord[][] {
  const out: LogRecord[][] = [];
  let open: LogRecord[] = [];
  let left = 0;
  const r = scanLogSlice(io, file, from, Math.max(1, to.seq - from.seq), (buf, start, end, seq) => {
    if (seq > to.seq) return;
    const rec = JSON.parse(buf.toString('utf8', start, end)) as LogRecord;
    if (left === 0) {
      const b = typeof rec.batch === 'number' && rec.batch > 1 ? rec.batch : 1;
      open = [];
      left = b;
    }
    open.push(rec);
    if (--left === 0) out.push(open);
  });
  if (r.problem?.kind === 'corrupt') throw corruptError(r.problem);
  return out;
}

/** Which records `streamStory` hands over: those naming the workstream (and, with a task, only that task's or the workstream's own), plus these types. */
export interface StoryFilter {
  workstreamId: string;
  taskId?: string;
  alsoTypes: readonly string[];
}

/**
 * Streams the records a story needs to `visit`, oldest first. The test runs on the bytes first (the
 * codec writes compact JSON and ids need no escaping, so a record of workstream `w` holds
 * `"workstream_id":"w"`); only lines that pass are parsed, so a task's story costs a read of the
 * log, not a parse of it.
 */
export async function streamStory(io: FsLayer, file: string, f: StoryFilter, visit: (r: LogRecord) => void, progress?: ReadProgress): Promise<{ lastSeq: number }> {
  const ws = Buffer.from(`"workstream_id":${JSON.stringify(f.workstreamId)}`);
  const task = f.taskId === undefined ? null : Buffer.from(`"task_id":${JSON.stringify(f.taskId)}`);
  const anyTask = Buffer.from('"task_id":');
  const also = f.alsoTypes.map((t) => Buffer.from(`"type":${JSON.stringify(t)}`));
  let pos = startOf(io, file);
  for (;;) {
    const r = scanLogSlice(io, file, pos, SLICE, (buf, start, end) => {
      const line = buf.subarray(start, end);
      const named = line.includes(ws) && (task === null || line.includes(task) || !line.includes(anyTask));
      if (!named && !also.some((n) => line.includes(n))) return;
      visit(JSON.parse(buf.toString('utf8', start, end)) as LogRecord);
    });
    if (r.problem?.kind === 'corrupt') throw corruptError(r.problem);
    pos = r.end;
    progress?.(pos.offset, r.size);
    if (!r.more) return { lastSeq: pos.seq };
    await tick();
  }
}

/** Every workstream the log ever had submitted, with its tasks in spec order (for ids that are gone from the state). */
export async function submittedTasks(io: FsLayer, file: string, progress?: ReadProgress): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const type = Buffer.from('"type":"workstream_submitted"');
  let pos = startOf(io, file);
  for (;;) {
    const r = scanLogSlice(io, file, pos, SLICE, (buf, start, end) => {
      if (!buf.subarray(start, Math.min(end, start + 200)).includes(type)) return;
      const rec = JSON.parse(buf.toString('utf8', start, end)) as LogRecord;
      const tasks = (rec.spec as { tasks?: { id: string }[] } | undefined)?.tasks ?? [];
      out.set(String(rec.workstream_id), tasks.map((t) => t.id));
    });
    if (r.problem?.kind === 'corrupt') throw corruptError(r.problem);
    pos = r.end;
    progress?.(pos.offset, r.size);
    if (!r.more) return out;
    await tick();
  }
}
