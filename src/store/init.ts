import * as path from 'node:path';
import { prettyJson } from '../log/canonical.js';
import { CairnError } from '../errors.js';
import { atomicWrite } from './atomic.js';
import { ensureDir } from './derived.js';
import { FILE_MODE, FLAGS, type FsLayer, realFs, unsafe } from './fsio.js';
import { StatePaths } from './paths.js';
import { State } from '../model/state.js';
import { snapshotDoc } from './snapshot.js';

/** What `cairn init` writes to .state/.gitignore: local-only files stay out of git. */
export const GITIGNORE = `# Written by cairn init. The log, current.json, checkpoints, archive, config and
# interventions are committed; these are local to one machine:
state.lock/
scheduler.lock/
.*.tmp-*
logs/
workers.json
backups/
`;

/**
 * Creates the state folder (0700) with an empty log, config.json, .gitignore and an empty
 * snapshot. Idempotent: on an existing folder it only adds what is missing and changes nothing else.
 */
export function initState(root: string, io: FsLayer = realFs): { created: boolean; root: string } {
  const paths = new StatePaths(root);
  const st = io.lstatSync(root);
  if (st && (st.isSymbolicLink() || !st.isDirectory())) throw unsafe(root);
  const parent = path.dirname(path.resolve(root));
  const pst = io.lstatSync(parent);
  if (!pst || !pst.isDirectory()) {
    throw new CairnError('BAD_INPUT', `the folder ${parent} does not exist`, { hint: 'Create it first or pass another --state-dir' });
  }
  const created = !st;
  ensureDir(io, root);
  for (const d of [paths.backups, paths.checkpoints, paths.archive, paths.logs]) ensureDir(io, d);
  const log = io.lstatSync(paths.log);
  if (log && (log.isSymbolicLink() || !log.isFile())) throw unsafe(paths.log);
  const fd = io.openSync(paths.log, FLAGS.appendLog, FILE_MODE);
  io.fchmodSync(fd, FILE_MODE);
  io.fsyncSync(fd);
  io.closeSync(fd);
  if (!io.lstatSync(paths.gitignore)) atomicWrite(io, paths.gitignore, GITIGNORE);
  if (!io.lstatSync(paths.config)) atomicWrite(io, paths.config, prettyJson({}));
  if (!io.lstatSync(paths.current)) {
    const empty = new State();
    atomicWrite(io, paths.current, prettyJson(snapshotDoc(empty, 0, empty.lastTs, new Map())));
  }
  return { created, root };
}
