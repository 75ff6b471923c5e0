import { constants } from 'node:fs';
import { CairnError } from '../errors.js';
import type { FsLayer } from './fsio.js';
import { StatePaths } from './paths.js';

/** What a command does with the state folder: `read` (status, events, dry runs) or `write`. */
export type RootAccess = 'read' | 'write';

const DENIED = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * The state folder as named, without trailing slashes: `link/` resolves through the link while
 * `link` does not, so both are judged as `link` (a symlink is refused either way).
 */
export function bareRoot(root: string): string {
  const bare = root.replace(/\/+$/, '');
  return bare === '' ? root : bare;
}

/**
 * The state folder must be a real folder (never a symlink) that cairn initialized, which this user
 * may read (and write, for a command that writes). MUST: checked before anything is read or
 * written, so a folder that is not ours ends with a message naming it, never half-way through.
 */
export function checkRoot(io: FsLayer, root: string, need: RootAccess = 'read'): void {
  const dir = bareRoot(root);
  const st = lstatOrDenied(io, dir, need);
  if (!st) {
    throw new CairnError('NOT_INITIALIZED', `there is no state folder at ${dir}`, {
      hint: 'Run: cairn init (or cairn run <spec.json>, which initializes it)',
    });
  }
  checkFolder(dir, st);
  const paths = new StatePaths(dir);
  checkAccess(io, dir, need === 'write' ? constants.R_OK | constants.W_OK | constants.X_OK : constants.R_OK | constants.X_OK, need);
  // The files every command reads first; a log it may not append to is refused before any decision.
  checkAccess(io, paths.log, need === 'write' ? constants.R_OK | constants.W_OK : constants.R_OK, need);
  checkAccess(io, paths.config, constants.R_OK, need);
  checkAccess(io, paths.current, constants.R_OK, need);
}

/** `dir` exists: it must be a real folder, not a symlink to one and not a file. */
export function checkFolder(dir: string, st: import('node:fs').Stats): void {
  if (st.isSymbolicLink()) {
    throw new CairnError('UNSAFE_PATH', `${dir} is a symbolic link; cairn does not follow a link to its state folder`, {
      details: { path: dir },
      hint: 'Pass the real folder with --state-dir (cairn never follows links to or inside its state folder).',
    });
  }
  if (!st.isDirectory()) {
    throw new CairnError('BAD_INPUT', `${dir} is a ${st.isFile() ? 'regular file' : 'special file'}, not a state folder`, {
      details: { path: dir },
      hint: 'Pass the state folder with --state-dir (default .state), or a new folder name to have cairn init create one there.',
    });
  }
}

/** Checks that this user may access `file` with access(2) `mode`; throws PERMISSION_DENIED naming it. */
export function checkAccess(io: FsLayer, file: string, mode: number, need: RootAccess): void {
  if (!io.accessSync) return;
  try {
    io.accessSync(file, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // a missing file is judged where it is read
    if (code !== undefined && DENIED.has(code)) throw permissionDenied(io, file, need, code);
    throw e;
  }
}

function lstatOrDenied(io: FsLayer, dir: string, need: RootAccess) {
  try {
    return io.lstatSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // A parent folder this user may not enter: say so about the folder asked for.
    if (code !== undefined && DENIED.has(code)) throw permissionDenied(io, dir, need, code);
    throw e;
  }
}

/** The error for a state folder or file this user may not use: what it is, whose it is, what is needed. */
export function permissionDenied(io: FsLayer, file: string, need: RootAccess, code: string): CairnError {
  let owner = '';
  try {
    const st = io.lstatSync(file);
    if (st) owner = `; it belongs to uid ${st.uid} with mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}`;
  } catch {
    /* the parent is closed too: no owner to name */
  }
  const uid = process.getuid?.();
  const who = uid === undefined ? '' : ` and cairn runs as uid ${uid}`;
  const what = need === 'write' ? 'read and write' : 'read';
  const why = code === 'EROFS' ? 'it is on a read-only file system' : `permission denied (${code})`;
  return new CairnError('PERMISSION_DENIED', `cannot ${need === 'write' ? 'write to' : 'read'} ${file}: ${why}${owner}${who}`, {
    details: { path: file, need, errno: code },
    hint: `This command needs ${what} access to the state folder and its files. Run it as the user who owns them, or give this user access (chown -R / chmod -R u+rwX).` +
      (need === 'write' ? ' Commands that only read (status, events, show-task, validate-state, --dry-run) need read access only.' : ''),
  });
}
