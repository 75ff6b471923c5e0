import { serveToken as readOrMake, snapshotWrittenAt } from '../store/serve-files.js';
import { type CommonOptions, stateDirOf } from './common.js';

/**
 * The token `cairn serve` asks of every request but /healthz: read from the state folder's
 * `serve-token` (0600, git-ignored), or made on first use (`created` is then true).
 */
export function serveToken(o: CommonOptions): { token: string; created: boolean; file: string } {
  return readOrMake(stateDirOf(o), o.fs);
}

/** When current.json was last written (ms since the epoch), or null: the age of the last snapshot. */
export function snapshotTime(o: CommonOptions): number | null {
  return snapshotWrittenAt(stateDirOf(o), o.fs);
}
