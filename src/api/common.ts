import { userInfo } from 'node:os';
import { CairnError, fromSystemError } from '../errors.js';
import { Store, type StoreOptions } from '../store/store.js';
import type { FsLayer } from '../store/fsio.js';
import type { Config } from '../schemas/config.js';

/** Options every verb of the public API takes. */
export interface CommonOptions {
  /** The state folder; default `.state`. */
  stateDir?: string;
  /** Who acts (default $USER); recorded on every manual action. */
  operator?: string;
  reason?: string;
  /** Injected for tests and the fault suites. */
  fs?: FsLayer;
  clock?: () => number;
  config?: Partial<Config>;
}

export function stateDirOf(o: CommonOptions): string {
  return o.stateDir ?? process.env.CAIRN_STATE_DIR ?? '.state';
}

/**
 * Who acts: --operator, else $CAIRN_OPERATOR, $USER, $LOGNAME, else the OS account running cairn
 * (cron and containers often set no $USER); empty values count as unset.
 */
export function operatorOf(o: CommonOptions): string {
  const given = [o.operator, process.env.CAIRN_OPERATOR, process.env.USER, process.env.LOGNAME].find((v) => v !== undefined && v !== '');
  return given ?? osUser();
}

function osUser(): string {
  try {
    const name = userInfo().username;
    if (name) return name;
  } catch {
    // No passwd entry for this uid (a container's arbitrary uid): the uid still names the account.
  }
  return `uid:${process.getuid?.() ?? 'unknown'}`;
}

export function openStore(o: CommonOptions, extra: StoreOptions = {}): Promise<Store> {
  return Store.open(stateDirOf(o), { fs: o.fs, clock: o.clock, config: o.config, ...extra });
}

/**
 * Opens the store, runs `fn`, and always closes it (writing the derived files when it may write).
 * When `fn` succeeded, a failing close reports that the command's records are committed (see
 * afterCommit); when `fn` failed, its error is reported as before.
 */
export async function withStore<T>(o: CommonOptions, extra: StoreOptions, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await openStore(o, extra);
  const seqBefore = store.position.seq;
  let result: T;
  try {
    result = await fn(store);
  } catch (e) {
    await store.close();
    throw e;
  }
  try {
    await store.close();
  } catch (e) {
    throw afterCommit(e, store, seqBefore);
  }
  return result;
}

/**
 * The error to report when writing the derived files failed after the command's records were
 * appended and synced. MUST: once the log is durable past `seqBefore`, the error says
 * the records are committed and that the command must not be run again: a second submit would be
 * DUPLICATE_WORKSTREAM, a second retry another attempt. A lagging current.json loses nothing.
 * Nothing committed (the log did not move): the error as it is.
 */
export function afterCommit(e: unknown, store: Store, seqBefore: number): unknown {
  const seq = store.position.seq;
  e = e instanceof CairnError ? e : fromSystemError(e) ?? e;
  if (!(e instanceof CairnError) || seq <= seqBefore) return e;
  const fixDisk = e.details.errno === 'ENOSPC' ? 'Once there is free disk space' : 'Once the cause is fixed';
  return new CairnError(e.code, `the command's records are committed (the log is durable up to seq ${seq}), but writing the derived files afterwards failed: ${e.message}`, {
    details: { ...e.details, committed: true, seq },
    hint: `Do not run the command again: it is recorded, and running it again would repeat it (or be refused as a duplicate). Nothing is lost: current.json may lag the log, and loading replays the log after it. ${fixDisk}, the next command that writes brings the derived files up to date, or run: cairn restore-state --from-transitions ${store.paths.log} --yes`,
    cause: e,
  });
}
