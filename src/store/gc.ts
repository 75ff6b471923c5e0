import { createRequire } from 'node:module';

// v8 and vm load on the first collection (long replays only), not with every command.
const require = createRequire(import.meta.url);

/**
 * A full garbage collection, for long replays. Replaying a log turns every record into short-lived
 * objects; those the state holds for a while (a task's latest outcome, timestamps) are promoted and
 * then die in V8's old generation, which is only collected when it has grown. Peak memory then grows
 * with the length of the log instead of the size of the state (measured: 1.6x for a 1,000,000-record
 * log against a 100,000-record one with the same final state). Collecting every few MiB of log keeps
 * the peak at the state's size; a collection costs a few ms when the live state is small.
 *
 * `gc` is only reachable with --expose-gc; setting that flag at run time exposes it to new contexts.
 */
let collect: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (collect === undefined) {
    try {
      (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--expose-gc');
      const fn = (require('node:vm') as typeof import('node:vm')).runInNewContext('gc') as unknown;
      collect = typeof fn === 'function' ? (fn as () => void) : null;
    } catch {
      collect = null; // not available: memory still bounded, only later
    }
  }
  collect?.();
}

/** Bytes of log replayed between two collections. */
export const REPLAY_GC_BYTES = 64 * 1024 * 1024;
