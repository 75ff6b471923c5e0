import { watch, type FSWatcher } from 'chokidar';
import { CairnError, type LogRecord, openState, type StateHandle } from '../index.js';

/** Something that wants every new record, in order (an SSE client, the metrics). */
export type RecordSink = (records: readonly LogRecord[]) => void;

/**
 * The state folder as the server sees it: one read handle (never the lock, never a write) kept
 * current by chokidar on the folder and a re-read every `pollMs` (a change event can be missed, as
 * `cairn status --watch` and the scheduler know), so a record appended by `cairn run` reaches the
 * sinks within a second. Every read route calls `current()`, which catches up first: a reply is
 * never older than the log was when the request came in.
 */
export class Live {
  private handle!: StateHandle;
  private readonly sinks = new Set<RecordSink>();
  private pending: LogRecord[] = [];
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Set when the log was replaced under the handle (restore --from-transitions): sinks get `onReset`. */
  private readonly resetSinks = new Set<(seq: number) => void>();
  /** The last error a background re-read met (a damaged log), reported by current() to the next request. */
  private failure: unknown = null;

  private constructor(private readonly stateDir: string) {}

  static async open(stateDir: string, pollMs = 500): Promise<Live> {
    const live = new Live(stateDir);
    await live.reopen();
    live.watcher = watch(stateDir, { ignoreInitial: true, depth: 0, ignored: (p: string) => p.includes('.lock') || /\.tmp-/.test(p) });
    live.watcher.on('all', () => live.tick());
    live.timer = setInterval(() => live.tick(), pollMs);
    return live;
  }

  private async reopen(): Promise<void> {
    const h = await openState({ stateDir: this.stateDir });
    h.onRecord((r) => this.pending.push(r));
    this.handle = h;
  }

  /** The handle, caught up with the log. Throws what reading the log met (LOG_CORRUPT: 503 naming the repair). */
  current(): StateHandle {
    this.catchUp();
    if (this.failure) throw this.failure;
    return this.handle;
  }

  get seq(): number {
    return this.handle.seq;
  }

  subscribe(sink: RecordSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  onReset(fn: (seq: number) => void): () => void {
    this.resetSinks.add(fn);
    return () => this.resetSinks.delete(fn);
  }

  private tick(): void {
    this.catchUp();
  }

  private catchUp(): void {
    try {
      this.handle.refresh();
      this.failure = null;
    } catch (e) {
      if (e instanceof CairnError && e.code === 'LOG_REPLACED') {
        // restore-state installed another log: start over from it, and tell the clients to reload.
        this.pending = [];
        void this.handle.close().catch(() => undefined);
        void this.reopen().then(() => { for (const fn of this.resetSinks) fn(this.handle.seq); }, (err: unknown) => { this.failure = err; });
        return;
      }
      this.failure = e;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    for (const s of this.sinks) {
      try {
        s(batch);
      } catch {
        // One broken client must not stop the others.
      }
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.watcher?.close();
    await this.handle.close();
  }
}
