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

export function operatorOf(o: CommonOptions): string {
  return o.operator ?? process.env.CAIRN_OPERATOR ?? process.env.USER ?? process.env.LOGNAME ?? 'unknown';
}

export function openStore(o: CommonOptions, extra: StoreOptions = {}): Promise<Store> {
  return Store.open(stateDirOf(o), { fs: o.fs, clock: o.clock, config: o.config, ...extra });
}

/** Opens the store, runs `fn`, and always closes it (writing the derived files when it may write). */
export async function withStore<T>(o: CommonOptions, extra: StoreOptions, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await openStore(o, extra);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
