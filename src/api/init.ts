import { resolve } from 'node:path';
import { initState } from '../store/init.js';
import { type CommonOptions, stateDirOf } from './common.js';

/** Creates the state folder if it is not there; idempotent. */
export function init(o: CommonOptions): { created: boolean; state_dir: string } {
  const r = initState(stateDirOf(o), o.fs);
  return { created: r.created, state_dir: resolve(r.root) };
}
