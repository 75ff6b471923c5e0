import { monotonicFactory } from 'ulid';
import { CairnError } from '../errors.js';
import type { State, StateView } from '../model/state.js';
import type { LogRecord } from '../model/types.js';
import { atomicWrite } from './atomic.js';
import { type Decide, decideBatch, type Outcome } from './decide-batch.js';
import { type StoreConfig, readConfig } from './config.js';
import { appendInterventions, DerivedWriter, interventionLines } from './derived.js';
import { type FsLayer, readWhole, realFs } from './fsio.js';
import { applyLine, corruptError, loadState, type Loaded } from './load.js';
import { MEMO_MIN_BYTES, rememberVerified } from './verified-memo.js';
import { acquire, closeLockFiles, isLocked, tryAcquire, type HeldLock } from './lock.js';
import { type LogPosition, type LogProblem, LogWriter, scanLog } from './logfile.js';
import { StatePaths, stampOf } from './paths.js';
import { checkRoot } from './root.js';
import { bufferedCryptoPrng } from './ulid-prng.js';
import { openWorkerLog, prepareTaskLog, removeStaleTemps, writeWorkersFile } from './runtime-files.js';
import { workerLogTail } from './recovery-files.js';
import { rotateLog } from './rotate.js';
import { positionHolds } from './snapshots.js';

export interface StoreOptions {
  fs?: FsLayer;
  clock?: () => number;
  /** Overrides on top of config.json (flags, CAIRN_* variables, tests). */
  config?: Partial<StoreConfig>;
  /** Never takes the lock and never writes; a torn tail is left alone. */
  readOnly?: boolean;
  /** Open even when the log is damaged mid-way (validate-state, repair-state); writing stays refused. */
  allowDamage?: boolean;
  /** Build from this snapshot file only (restore-state --from-backup <file>). */
  snapshotFile?: string;
  /** Ignore current.json (restore-state --from-transitions). */
  skipCurrent?: boolean;
  /** Wait one event-loop turn before writing, so decisions made in the same turn share a write (the scheduler). */
  coalesce?: boolean;
}

export type { Decide } from './decide-batch.js';
export { checkRoot } from './root.js';

interface Pending {
  decide: Decide;
  resolve: (r: LogRecord[]) => void;
  reject: (e: unknown) => void;
}

/**
 * The state folder: the only code that reads or writes `.state/`.
 *
 * MUST (write protocol, DESIGN §3): under the state lock, first read what other processes appended,
 * then decide, then append the whole batch in one write and fdatasync it, and only then apply it to
 * the in-memory state and report success. Decisions queued while a batch is being written go into
 * the next batch together (group commit): one lock, one write, one fsync for all of them.
 */
export class Store {
  readonly paths: StatePaths;
  readonly io: FsLayer;
  readonly config: StoreConfig;
  readonly warnings: string[];
  /** What the state was loaded from: current.json, a backup, or the log. */
  readonly source: string;
  private st: State;
  private pos: LogPosition;
  private problem: LogProblem | null;
  /** Inode of the log this store read and appends to; another one means the log was replaced. */
  private logIno: number;
  /** crc of the record before the last one (log-verified.json names both). */
  private prevCrc: number;
  /** Logical offset where the active file starts (segmented-fs.ts); past `rotateAt` the committer rotates. */
  private activeStart: number;
  private rotateAt = Infinity;
  private writer: LogWriter | null = null;
  private readonly derived: DerivedWriter;
  private readonly archivedAt: Map<string, number>;
  private readonly queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private readonly clock: () => number;
  private readonly ulid = monotonicFactory(bufferedCryptoPrng());
  private lastDerivedMs = 0;
  /** How long the last derived write took (by the store's clock). */
  private lastDerivedCostMs = 0;
  private readonly listeners: ((r: LogRecord) => void)[] = [];
  private closed = false;
  /** A batch is written and its sync not yet returned (see flush). */
  private syncing = false;

  private constructor(readonly root: string, loaded: Loaded, io: FsLayer, config: StoreConfig, private readonly opts: StoreOptions) {
    this.paths = new StatePaths(root);
    this.io = io;
    this.config = config;
    this.st = loaded.state;
    this.pos = loaded.end;
    this.problem = loaded.problem;
    this.logIno = loaded.logIno;
    this.prevCrc = loaded.prevCrc;
    this.activeStart = loaded.logBase;
    this.setActiveStart(loaded.logBase);
    this.warnings = loaded.warnings;
    this.source = loaded.source;
    this.archivedAt = loaded.archivedAt;
    this.clock = opts.clock ?? Date.now;
    this.derived = new DerivedWriter(io, this.paths, config);
    this.derived.coveredUpTo = loaded.baseSeq;
    // Loaded from current.json with nothing after it: the derived files are up to date, so a command
    // that ends up changing nothing (refused, exit 2) rewrites nothing either.
    if (loaded.source === 'current.json' && loaded.state.seq === loaded.baseSeq) this.derived.lastSnapshotSeq = loaded.baseSeq;
  }

  /** Opens an initialized state folder and loads it (snapshot + replay of the rest of the log). */
  static async open(root: string, opts: StoreOptions = {}): Promise<Store> {
    const io = opts.fs ?? realFs;
    const paths = new StatePaths(root);
    checkRoot(io, root, opts.readOnly ? 'read' : 'write');
    const config = readConfig(io, paths, opts.config);
    const loaded = loadState(io, paths, { skipCurrent: opts.skipCurrent, only: opts.snapshotFile, trustVerified: opts.readOnly === true && !opts.allowDamage });
    const store = new Store(root, loaded, io, config, opts);
    const p = loaded.problem;
    if (p?.kind === 'corrupt' && !opts.allowDamage) throw corruptError(p);
    if (p && p.kind !== 'corrupt' && !opts.readOnly) {
      // Under the lock nobody is half-way through a write: what is left unfinished is a torn tail.
      await store.withLock(async () => {});
    }
    return store;
  }

  /** The current state. Read-only for callers: only records change it. */
  get state(): StateView {
    return this.st;
  }

  /** The concrete state, for code inside src/ that serializes it. */
  get stateInternal(): State {
    return this.st;
  }

  get position(): LogPosition {
    return this.pos;
  }

  /** A damaged part of the log found on open (only with allowDamage), or a torn tail left alone. */
  get logProblem(): LogProblem | null {
    return this.problem;
  }

  /**
   * Decides and appends durably. Resolves with the records once they are on disk; rejects (and
   * appends nothing of this decision) when `decide` throws or the write fails.
   */
  commit(decide: Decide): Promise<LogRecord[]> {
    if (this.closed) return Promise.reject(new CairnError('INTERNAL', 'the store is closed'));
    if (this.opts.readOnly) return Promise.reject(new CairnError('INTERNAL', 'the store was opened read-only'));
    return new Promise((resolve, reject) => {
      this.queue.push({ decide, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = (async () => {
      // The scheduler's decisions of one event-loop turn (outcomes of several workers, a start and
      // a retry) go into one write and one fsync.
      if (this.opts.coalesce) await new Promise((r) => setImmediate(r));
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        await this.flush(batch);
      }
    })().finally(() => {
      this.flushing = null;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async flush(batch: Pending[]): Promise<void> {
    let outcomes: Outcome<Pending>[] = [];
    try {
      await this.withLock(async (lock) => {
        const decided = decideBatch(this.st, this.pos, batch, this.clock, this.ulid);
        outcomes = decided.outcomes;
        const records = outcomes.flatMap((o) => o.records ?? []);
        if (records.length === 0) return;
        const lines = Buffer.from(outcomes.map((o) => o.text).join(''));
        lock.assertHeld();
        // Until the sync returns, the records are in the file but not committed: refresh() must not
        // read them as another process's (they are applied below, once).
        this.syncing = true;
        try {
          await this.logWriter().append(lines, this.pos.offset);
        } finally {
          this.syncing = false;
        }
        // Durable: the draft the records were trial-applied to becomes the state (applying them to
        // the state once more would redo the same work), then the listeners hear of each record.
        decided.change.commitTo(this.st);
        for (const r of records) for (const fn of this.listeners) fn(r);
        this.prevCrc = records.length >= 2 ? parseInt(records[records.length - 2]!.crc, 16) : this.pos.crc;
        this.pos = { offset: this.pos.offset + lines.length, seq: this.st.seq, crc: parseInt(this.st.crc, 16) };
        // The one comparison every commit pays for rotation (off: rotateAt is Infinity).
        if (this.pos.offset >= this.rotateAt) this.rotate();
        try {
          appendInterventions(this.io, this.paths, interventionLines(records));
        } catch (e) {
          // The records are durable; interventions.log is derived and validate-state rebuilds it.
          this.warnings.push(`interventions.log could not be written: ${(e as Error).message}`);
        }
      });
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    for (const o of outcomes) {
      if (o.records) o.p.resolve(o.records);
      else o.p.reject(o.error);
    }
  }

  /** Reads records appended by other processes since this process last looked (no lock). */
  refresh(): number {
    return this.catchUp(false);
  }

  private catchUp(underLock: boolean): number {
    const before = this.pos.seq;
    if (this.syncing && !underLock) return 0;
    // One stat instead of a scan when nothing was appended (every commit of a lone writer).
    const st = this.io.lstatSync(this.paths.log);
    const moved = st !== undefined && this.logIno !== 0 && st.ino !== this.logIno;
    if (moved) this.adoptRotated(st.ino);
    if (st && !moved && st.size === this.pos.offset && this.problem === null) return 0;
    let last = this.pos.crc;
    const scan = scanLog(this.io, this.paths.log, this.pos, (buf, start, end, seq, crc) => {
      this.prevCrc = last;
      last = crc;
      const r = applyLine(this.st, buf, start, end, seq);
      for (const fn of this.listeners) fn(r);
    });
    if (scan.ino) {
      if (this.logIno !== 0 && scan.ino !== this.logIno) this.adoptRotated(scan.ino);
      this.logIno = scan.ino;
    }
    this.setActiveStart(scan.base ?? 0);
    this.pos = scan.end;
    const p = scan.problem;
    this.problem = p;
    if (p?.kind === 'corrupt') throw corruptError(p);
    if (p && underLock) {
      this.setAsideTail(p);
      this.problem = null;
    }
    return this.pos.seq - before;
  }

  /**
   * The active file was replaced since this process read it. Another committer's rotation keeps
   * every record where it was (the record this process read last is still at its offset with its
   * crc): carry on with the new active file. Anything else is a replaced log (LOG_REPLACED).
   */
  private adoptRotated(ino: number): void {
    if (!positionHolds(this.io, this.paths.log, this.pos)) throw logReplaced(this.paths.log);
    this.writer?.close();
    this.writer = null;
    this.logIno = ino;
  }

  private setActiveStart(start: number): void {
    this.activeStart = start;
    const limit = this.config.log_segment_bytes;
    this.rotateAt = limit === null || this.opts.readOnly ? Infinity : start + limit;
  }

  /**
   * Closes the active file into a segment (store/rotate.ts), under the lock the commit holds. The
   * records are already durable: a failure here costs only the rotation, which the next commit tries again.
   */
  private rotate(): void {
    try {
      const done = rotateLog(this.io, this.paths, this.activeStart, this.pos);
      this.writer?.close();
      this.writer = null;
      this.logIno = this.io.lstatSync(this.paths.log)?.ino ?? 0;
      if (done) this.setActiveStart(this.pos.offset);
      else this.rotateAt = Infinity; // an active file that disagrees with a segment: validate-state says so
    } catch (e) {
      this.warnings.push(`the log could not be rotated: ${(e as Error).message}`);
      this.rotateAt = Infinity;
    }
  }

  /** Keeps a torn tail in transitions.jsonl.torn-<ts>, then cuts the log back to its last good record. */
  private setAsideTail(p: Exclude<LogProblem, { kind: 'corrupt' }>): void {
    const all = readWhole(this.io, this.paths.log) ?? Buffer.alloc(0);
    const tail = all.subarray(p.offset);
    const name = this.paths.tornLog(stampOf(this.clock()));
    atomicWrite(this.io, name, tail);
    this.logWriter().truncate(p.offset);
    this.warnings.push(`the log ended with ${tail.length} bytes of an unfinished record (seq ${p.seq}: ${p.reason}); kept in ${name} and removed from the log`);
  }

  private logWriter(): LogWriter {
    if (!this.writer) {
      const w = new LogWriter(this.io, this.paths.log);
      const ino = w.ino();
      if (this.logIno !== 0 && ino !== this.logIno && !positionHolds(this.io, this.paths.log, this.pos)) {
        w.close();
        throw logReplaced(this.paths.log);
      }
      this.logIno = ino;
      this.writer = w;
    }
    return this.writer;
  }

  /** Runs `fn` under the state lock after catching up with the log. */
  async withLock<T>(fn: (lock: HeldLock) => Promise<T>): Promise<T> {
    const lock = await acquire(this.paths.stateLockTarget, {
      staleMs: this.config.lock_stale_ms,
      updateMs: this.config.lock_update_ms,
      timeoutMs: this.config.lock_timeout_ms,
      what: 'state lock',
    });
    try {
      this.catchUp(true);
      return await fn(lock);
    } finally {
      await lock.release();
    }
  }

  /**
   * Writes current.json and everything derived with it (checkpoints, archive, metrics, backups)
   * under the state lock. Skipped when nothing changed since the last write unless `force`.
   */
  async writeDerived(force = false, forceBackup = false): Promise<void> {
    await this.withLock(async (lock) => {
      if (!force && this.derived.lastSnapshotSeq === this.st.seq) return;
      lock.assertHeld();
      const start = this.clock();
      // A restore (forceBackup) rewrites every derived file, checkpoints included.
      this.derived.write(this.st, this.pos.offset, start, this.archivedAt, forceBackup, forceBackup);
      // How far the chain is verified, beside the snapshot of the same point: a read-only command
      // after this one checks only what is appended later.
      if (this.pos.offset >= MEMO_MIN_BYTES) rememberVerified(this.io, this.paths, this.logIno, this.pos, this.prevCrc);
      this.lastDerivedMs = this.clock();
      this.lastDerivedCostMs = this.lastDerivedMs - start;
    });
  }

  /**
   * writeDerived, at most once per snapshot_interval (the scheduler calls this as it goes), and at
   * most a twentieth of the time: a large state (10,000 tasks: ~150 ms per write) is snapshotted less
   * often rather than slowing every task down (at a tenth, a run of 2,000 `true` tasks spent a
   * third of the scheduler's CPU on it). A lagging snapshot loses nothing (load replays the tail).
   */
  async maybeWriteDerived(): Promise<void> {
    const gap = Math.max(this.config.snapshot_interval_ms, 19 * this.lastDerivedCostMs);
    if (this.clock() - this.lastDerivedMs < gap) return;
    if (this.derived.lastSnapshotSeq === this.st.seq) return;
    await this.writeDerived();
  }

  /**
   * Calls `fn` with every record applied to this store's state, its own and those read from others
   * (its own once the whole batch they were written with is in the state).
   */
  onApply(fn: (r: LogRecord) => void): void {
    this.listeners.push(fn);
  }

  prepareTaskLog(ws: string, task: string, attempt: number): string {
    return prepareTaskLog(this.io, this.paths, ws, task, attempt);
  }

  openWorkerLog(workerId: string): number {
    return openWorkerLog(this.io, this.paths, workerId);
  }

  /** The last `lines` lines of a worker's own stderr log (logs/_workers/<id>.log); null when it has none. */
  workerLogTail(workerId: string, lines: number): { path: string; lines: string[] } | null {
    return workerLogTail(this.io, this.paths, workerId, lines);
  }

  writeWorkers(doc: unknown): void {
    writeWorkersFile(this.io, this.paths, doc);
  }

  removeStaleTemps(): string[] {
    return removeStaleTemps(this.io, this.paths);
  }

  /**
   * Takes the scheduler lock without waiting; null when another scheduler holds it. When the
   * scheduler recorded in the state is dead (`deadHolderPid`, checked by pid and start time), its
   * lock is left over from a crash and is taken over at once instead of after the stale time.
   */
  async acquireSchedulerLock(deadHolderPid: number | null): Promise<HeldLock | null> {
    return tryAcquire(this.paths.schedulerLockTarget, {
      staleMs: this.config.lock_stale_ms, updateMs: this.config.lock_update_ms, timeoutMs: 0, what: 'scheduler lock',
      ...(deadHolderPid !== null ? { deadPid: deadHolderPid } : {}),
    });
  }

  /** Whether some live process holds the scheduler lock. */
  schedulerLockHeld(): Promise<boolean> {
    return isLocked(this.paths.schedulerLockTarget, this.config.lock_stale_ms);
  }

  /** The backups/ file the last derived write kept the previous current.json in (null: none, e.g. it was not a valid snapshot). */
  get lastBackupFile(): string | null {
    return this.derived.lastBackupFile;
  }

  /** Whether current.json and the other derived files already reflect the last record. */
  get derivedUpToDate(): boolean {
    return this.derived.lastSnapshotSeq === this.st.seq;
  }

  /** Ends a command: derived files reflect the last record. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushing) await this.flushing;
    if (!this.opts.readOnly && (this.problem === null || this.problem.kind !== 'corrupt')) await this.writeDerived();
    this.closed = true;
    this.writer?.close();
    // The lock files kept between holds (see lock-owner.ts); a lock still held keeps its own.
    closeLockFiles(this.paths.stateLockTarget);
    closeLockFiles(this.paths.schedulerLockTarget);
  }
}

/**
 * The log file was replaced (restore-state --from-transitions, a copy by hand) after this process
 * read it: appending to the old, unlinked file would lose the records, and the state in memory
 * belongs to the old history. Nothing more is written.
 */
function logReplaced(file: string): CairnError {
  return new CairnError('LOG_REPLACED', `${file} was replaced by another process while this command had it open; nothing more is written`, {
    hint: 'Run the command again: it reads the new log. (restore-state --from-transitions replaces the log; stop cairn run before using it.)',
  });
}
