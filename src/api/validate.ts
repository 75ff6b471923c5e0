import { resolve as resolvePath } from 'node:path';
import { checkRoot } from '../store/store.js';
import { realFs } from '../store/fsio.js';
import { StatePaths } from '../store/paths.js';
import { verifyState, type Problem } from '../store/verify.js';
import { type CommonOptions, stateDirOf } from './common.js';
import { driverWarning } from './git.js';

export interface ValidateReport {
  ok: boolean;
  state_dir: string;
  seq: number;
  records: number;
  problems: Problem[];
  /** Not problems of the state, but worth knowing (a merge driver named and not registered). */
  warnings: string[];
}

/** validate-state: every check of the state folder, changing nothing. `ok` is false when any problem is found. */
export function validateState(o: CommonOptions): ValidateReport {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  checkRoot(io, root);
  const r = verifyState(io, new StatePaths(root));
  const driver = driverWarning(o);
  return { ok: r.problems.length === 0, state_dir: resolvePath(root), seq: r.seq, records: r.records, problems: r.problems, warnings: driver ? [driver] : [] };
}
