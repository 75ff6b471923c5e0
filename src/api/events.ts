import { realFs } from '../store/fsio.js';
import { StatePaths } from '../store/paths.js';
import { readRecords, type RecordFilter } from '../store/records.js';
import { checkRoot } from '../store/store.js';
import { type CommonOptions, stateDirOf } from './common.js';

/** The records of the log that match the filter, oldest first. */
export function events(o: CommonOptions & RecordFilter) {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  checkRoot(io, root);
  return readRecords(io, new StatePaths(root).log, o);
}
