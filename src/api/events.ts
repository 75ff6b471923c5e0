import { CairnError } from '../errors.js';
import { RECORD_TYPES } from '../model/catalogue.js';
import { closest, resolveTask, resolveWorker, resolveWorkstream } from '../model/resolve.js';
import type { LogRecord } from '../model/types.js';
import { realFs } from '../store/fsio.js';
import { historyGone, type HistoryStart, historyStart, logStart } from '../store/log-base.js';
import { segmentDir } from '../store/segments.js';
import { StatePaths } from '../store/paths.js';
import { readRecords, type RecordFilter, streamRecords } from '../store/records.js';
import { checkRoot } from '../store/store.js';
import { type CommonOptions, stateDirOf, withStore } from './common.js';

/** The records of the log that match the filter, oldest first (in memory: for small logs and tests; the CLI streams). */
export function events(o: CommonOptions & RecordFilter) {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  checkRoot(io, root);
  checkTypes(o.types);
  return readRecords(io, new StatePaths(root).log, o);
}

/** What `cairn events` asks for: a filter whose ids are checked against the state first. */
export interface EventQuery extends RecordFilter {
  /** `<workstream>/<task>`, or a bare task id (unambiguous, or with workstreamId), as every other tool takes it. */
  task?: string;
}

/**
 * Streams the matching records of a log of any size to `sink`, oldest first, a slice at a time
 * (`sink` returning false stops the reading). Bad input is refused before anything is read: an
 * unknown record type, workstream, task or worker is named with the closest known ones (exit 2),
 * and so is a since-seq or last that is not a whole number.
 */
export async function streamEvents(o: CommonOptions & EventQuery, sink: (records: LogRecord[]) => Promise<boolean> | boolean): Promise<{ lastSeq: number; stopped: boolean; history_starts_at: HistoryStart | null }> {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  checkRoot(io, root);
  checkTypes(o.types);
  if (o.sinceSeq !== undefined && !(Number.isSafeInteger(o.sinceSeq) && o.sinceSeq >= 0)) throw badNumber('--since-seq', o.sinceSeq, 0);
  if (o.last !== undefined && !(Number.isSafeInteger(o.last) && o.last >= 1)) throw badNumber('--last', o.last, 1);
  const filter = await resolveIds(o);
  const log = new StatePaths(root).log;
  // Old segments moved out (log-archive): records after a seq before the base are gone.
  const { base } = logStart(io, log);
  if (base && o.sinceSeq !== undefined && o.sinceSeq < base.seq) throw historyGone(base, segmentDir(log));
  return { ...(await streamRecords(io, log, filter, sink)), history_starts_at: historyStart(base) };
}

/** The filter with its ids checked against the state (loaded only when an id is given). */
async function resolveIds(o: CommonOptions & EventQuery): Promise<RecordFilter> {
  const filter: RecordFilter = { types: o.types, workstreamId: o.workstreamId, taskId: o.taskId, workerId: o.workerId, sinceSeq: o.sinceSeq, last: o.last };
  const ref = o.task ?? o.taskId;
  if (ref === undefined && o.workstreamId === undefined && o.workerId === undefined) return filter;
  return withStore(o, { readOnly: true }, async (store) => {
    if (ref !== undefined) {
      const t = resolveTask(store.state, ref, o.workstreamId);
      filter.workstreamId = t.workstream_id;
      filter.taskId = t.id;
    } else if (o.workstreamId !== undefined) resolveWorkstream(store.state, o.workstreamId);
    if (o.workerId !== undefined) resolveWorker(store.state, o.workerId);
    return filter;
  });
}

function checkTypes(types: readonly string[] | undefined): void {
  for (const t of types ?? []) {
    if (Object.hasOwn(RECORD_TYPES, t)) continue;
    const near = closest(t, Object.keys(RECORD_TYPES));
    throw new CairnError('BAD_INPUT', `no record type ${JSON.stringify(t)}`, {
      details: { type: t, closest: near },
      hint: `Did you mean: ${near.join(', ')}? Every record type has a schema in schemas/records/<type>.schema.json.`,
    });
  }
}

function badNumber(flag: string, v: unknown, min: number): CairnError {
  return new CairnError('BAD_INPUT', `${flag} must be a whole number >= ${min}, got ${Number.isNaN(v) ? 'something that is not a number' : JSON.stringify(v)}`, {
    hint: `For example: cairn events ${flag} ${min === 0 ? 100 : 20}`,
  });
}
