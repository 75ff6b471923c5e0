import { constants } from 'node:fs';
import * as path from 'node:path';
import { prettyJson } from '../log/canonical.js';
import { CairnError } from '../errors.js';
import { atomicWrite } from './atomic.js';
import { ensureDir } from './derived.js';
import { FILE_MODE, FLAGS, type FsLayer, readWhole, realFs, unsafe } from './fsio.js';
import { StatePaths } from './paths.js';
import { bareRoot, checkAccess, checkFolder, checkRoot } from './root.js';
import { State } from '../model/state.js';
import { snapshotFile } from './snapshot.js';

/** What `cairn init` writes to .state/.gitignore: local-only files stay out of git. */
export const GITIGNORE = `# Written by cairn init. The log, current.json, checkpoints, archive, config and
# interventions are committed; these are local to one machine:
state.lock/
scheduler.lock/
.*.tmp-*
logs/
workers.json
backups/
repair-copies/
snapshots/
serve-token
log-verified.json
`;

/**
 * Creates the state folder (0700) with an empty log, config.json, .gitignore and an empty
 * snapshot. Idempotent: on an existing folder it only adds what is missing and changes nothing else.
 */
export function initState(named: string, io: FsLayer = realFs): { created: boolean; root: string } {
  const root = bareRoot(named);
  const paths = new StatePaths(root);
  const st = io.lstatSync(root);
  if (st) checkFolder(root, st);
  const parent = path.dirname(path.resolve(root));
  const pst = io.lstatSync(parent);
  if (!pst || !pst.isDirectory()) {
    throw new CairnError('BAD_INPUT', `the folder ${parent} does not exist`, { hint: 'Create it first or pass another --state-dir' });
  }
  // A folder (or a parent) of another user: refused with its name before anything is created.
  if (st) checkRoot(io, root, 'write');
  else checkAccess(io, parent, constants.W_OK | constants.X_OK, 'write');
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
    atomicWrite(io, paths.current, snapshotFile(empty, 0, empty.lastTs, new Map()));
  }
  return { created, root };
}

/** Whether the state folder's .gitignore keeps repair-copies/ out of git (folders made before it existed do not). */
export function gitignored(io: FsLayer, paths: StatePaths): boolean {
  const text = readWhole(io, paths.gitignore)?.toString('utf8');
  return text === undefined ? false : text.split('\n').some((l: string) => l.trim() === 'repair-copies/' || l.trim() === '/repair-copies/');
}

/** Adds repair-copies/ to the state folder's .gitignore (writing the whole file as init does when there is none). */
export function ignoreCopies(io: FsLayer, paths: StatePaths): void {
  const text = readWhole(io, paths.gitignore)?.toString('utf8');
  atomicWrite(io, paths.gitignore, text === undefined ? GITIGNORE : `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}repair-copies/\n`);
}
