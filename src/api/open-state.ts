import { resolve as resolvePath } from 'node:path';
import type { StateView } from '../model/state.js';
import type { LogRecord } from '../model/types.js';
import { type CommonOptions, openStore, stateDirOf } from './common.js';

/** A read handle on a state folder (openState): the state as the log has it, refreshed on demand. */
export interface StateHandle {
  /** The state folder, as an absolute path. */
  readonly stateDir: string;
  /** seq of the last record the state holds. */
  readonly seq: number;
  /** What loading started from: `current.json`, a backup file, or `log` (a full replay). */
  readonly source: string;
  /** Files loading ignored on the way (never trusted), as status reports them. */
  readonly warnings: readonly string[];
  /** The state: workstreams, tasks, workers, resources. Read-only; changes only by records. */
  readonly state: StateView;
  /** Bytes of the log the state holds (the log's size once refreshed). */
  readonly logBytes: number;
  /** Reads the records other processes appended since (no lock); returns how many were applied. */
  refresh(): number;
  /** Calls `fn` with every record refresh() applies, in order (how `cairn serve` streams new records). */
  onRecord(fn: (r: LogRecord) => void): void;
  /** Releases what the handle holds; the handle is not used afterwards. */
  close(): Promise<void>;
}

/**
 * Opens a state folder for reading, for programs that use cairn as a library: loading is the same as
 * every command's (newest valid snapshot + replay of the log after it). It never takes the state
 * lock and never writes, so it may be held while `cairn run` works; call `refresh()` to catch up.
 */
export async function openState(o: CommonOptions = {}): Promise<StateHandle> {
  const store = await openStore(o, { readOnly: true });
  return {
    stateDir: resolvePath(stateDirOf(o)),
    get seq() { return store.state.seq; },
    source: store.source,
    warnings: store.warnings,
    get state() { return store.state; },
    get logBytes() { return store.position.offset; },
    refresh: () => store.refresh(),
    onRecord: (fn) => store.onApply(fn),
    close: () => store.close(),
  };
}
