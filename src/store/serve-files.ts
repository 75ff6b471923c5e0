import { randomBytes } from 'node:crypto';
import { CairnError } from '../errors.js';
import { atomicWrite } from './atomic.js';
import { type FsLayer, readWhole, realFs, unsafe } from './fsio.js';
import { StatePaths } from './paths.js';
import { checkRoot } from './root.js';

const TOKEN = /^[0-9a-f]{64}$/;

/**
 * The token of `cairn serve`: read from `serve-token` in the state folder, or made on first use
 * (32 bytes from the OS's CSPRNG, written 0600 by temp file and rename) and git-ignored.
 * MUST: a token file that others may read, or a link, is refused: whoever reads it controls the
 * state folder over HTTP.
 */
export function serveToken(root: string, io: FsLayer = realFs): { token: string; created: boolean; file: string } {
  checkRoot(io, root);
  const paths = new StatePaths(root);
  const file = paths.serveToken;
  const st = io.lstatSync(file);
  if (st) {
    if (st.isSymbolicLink() || !st.isFile()) throw unsafe(file);
    if ((st.mode & 0o077) !== 0) {
      throw new CairnError('UNSAFE_PATH', `${file} may be read by other users (mode ${(st.mode & 0o777).toString(8)}): its token controls this state folder over HTTP`, {
        details: { path: file },
        hint: `Remove it so cairn serve makes a new one (rm ${file}), or make it private (chmod 600 ${file}).`,
      });
    }
    const text = readWhole(io, file)?.toString('utf8').trim() ?? '';
    if (TOKEN.test(text)) return { token: text, created: false, file };
  }
  checkRoot(io, root, 'write');
  atomicWrite(io, file, randomBytes(32).toString('hex') + '\n');
  ignoreToken(io, paths);
  // Read back: of two servers starting at once, both use the token that stayed on disk.
  const token = readWhole(io, file)!.toString('utf8').trim();
  return { token, created: true, file };
}

/** Adds serve-token to the state folder's .gitignore (folders made before it existed lack the line). */
function ignoreToken(io: FsLayer, paths: StatePaths): void {
  const text = readWhole(io, paths.gitignore)?.toString('utf8');
  if (text === undefined || text.split('\n').some((l) => l.trim() === 'serve-token' || l.trim() === '/serve-token')) return;
  atomicWrite(io, paths.gitignore, `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}serve-token\n`);
}

/** When current.json was last written (ms since the epoch), or null when there is none: /metrics reports its age. */
export function snapshotWrittenAt(root: string, io: FsLayer = realFs): number | null {
  const st = io.lstatSync(new StatePaths(root).current);
  return st && st.isFile() ? st.mtimeMs : null;
}
