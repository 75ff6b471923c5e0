import { availableParallelism } from 'node:os';
import { CairnError } from '../errors.js';
import { decide } from '../model/decide.js';
import type { LogRecord } from '../model/types.js';
import { MAX_WORKERS, WORKERS_DEFAULT } from '../schemas/config.js';
import { Engine } from '../scheduler/engine.js';
import { assertSlurm } from '../scheduler/adopt.js';
import { initState } from '../store/init.js';
import { pruneStore } from '../store/prune.js';
import type { Store } from '../store/store.js';
import { type CommonOptions, openStore, operatorOf, stateDirOf } from './common.js';
import { loadSpec } from './submit.js';
import { statusOf } from './status.js';
import { workstreamSummary } from './views.js';

export interface RunOptions extends CommonOptions {
  /** A spec to submit first; without it (or when it was submitted before) every active workstream resumes. */
  spec?: string;
  /** Worker processes (with slurm: jobs in flight); default config.json's `workers`, else the number of cores, at least 2. */
  workers?: number;
  /** Where attempts run: local worker processes or Slurm jobs; default config.json's executor.kind, else local. */
  executor?: string;
  /** Aborting stops the run cleanly: tasks stopped, requeued without spending a retry. */
  signal?: AbortSignal;
  onRecord?: (r: LogRecord) => void;
  onNote?: (msg: string) => void;
  /** Called about four times a second with the status document, for a live view. */
  onProgress?: (status: ReturnType<typeof statusOf>) => void;
}

export interface RunResult {
  /** cancelled: no workstream failed, but one ended cancelled (its tasks were cancelled): not what the run was for. */
  outcome: 'completed' | 'failed' | 'cancelled' | 'interrupted';
  exit_code: 0 | 1 | 130;
  workstreams: ReturnType<typeof workstreamSummary>[];
  notes: string[];
}

/**
 * The main job: init if needed, submit the spec (unless that workstream exists already), then
 * schedule until no active workstream is left. Resolves with exit code 0 when all completed, 1 when
 * one failed or ended cancelled, 130 when interrupted.
 */
export async function run(o: RunOptions): Promise<RunResult> {
  const notes: string[] = [];
  const note = (m: string) => {
    notes.push(m);
    o.onNote?.(m);
  };
  // Bad input is refused before anything is written (init included).
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > MAX_WORKERS)) {
    throw new CairnError('BAD_INPUT', `--workers must be a whole number from 1 to ${MAX_WORKERS}, got ${o.workers}`, {
      hint: `Pass --workers N (or set CAIRN_WORKERS, or "workers" in .state/config.json); without any, cairn uses ${WORKERS_DEFAULT}.`,
    });
  }
  if (o.executor !== undefined && o.executor !== 'local' && o.executor !== 'slurm') {
    throw new CairnError('BAD_INPUT', `--executor must be local or slurm, got ${JSON.stringify(o.executor)}`, {
      hint: 'Pass --executor local (worker processes on this machine, the default) or --executor slurm (one Slurm job per attempt).',
    });
  }
  if (o.executor === 'slurm') assertSlurm();
  const spec = o.spec !== undefined ? loadSpec(o.spec) : null;
  initState(stateDirOf(o), o.fs);
  const store = await openStore(o, { coalesce: true });
  for (const w of store.warnings) note(w);
  // config.json's value was checked against its schema when the store opened.
  const workers = o.workers ?? store.config.workers ?? Math.max(2, availableParallelism());
  const executor = o.executor !== undefined ? { ...store.config.executor, kind: o.executor as 'local' | 'slurm' } : store.config.executor;
  let engine: Engine;
  try {
    engine = new Engine(store, { workers, clock: o.clock, onRecord: o.onRecord, onNote: note, executor });
    await engine.start();
  } catch (e) {
    await store.close();
    throw e;
  }
  const progress = o.onProgress
    ? setInterval(() => o.onProgress!(statusOf(store.state, {}, { seq: store.state.seq, source: 'live', warnings: [] })), 250)
    : null;
  let interrupted = false;
  const onAbort = () => {
    interrupted = true;
    engine.requestStop();
  };
  o.signal?.addEventListener('abort', onAbort);
  if (o.signal?.aborted) onAbort();
  try {
    if (spec) {
      const existing = store.state.workstream(spec.id);
      if (!existing) await store.commit((s) => decide(s, { kind: 'submit', spec, operator: operatorOf(o) }, { now: (o.clock ?? Date.now)() }));
      else note(`workstream ${spec.id} was submitted before (${existing.state}); ${submittedBefore(existing.state, spec.id, o.spec!)}`);
    }
    const r = await engine.run();
    await engine.shutdown(interrupted ? 'interrupted' : 'done');
    // An interrupted run stops as soon as it can; retention waits for the next run or `cairn prune`.
    if (r.outcome !== 'interrupted') await retention(store, o, note);
    if (!spec && r.outcome === 'done' && r.completed.length + r.failed.length + r.cancelled.length === 0) note('no active workstream, so nothing ran and nothing was recorded');
    const ids = new Set([...r.failed, ...r.cancelled, ...r.completed, ...(spec ? [spec.id] : [])]);
    const summaries = [...ids].filter((id) => store.state.workstream(id)).map((id) => workstreamSummary(store.state, store.state.workstream(id)!, true));
    const failed = summaries.some((w) => w.state === 'failed');
    const cancelled = summaries.some((w) => w.state === 'cancelled');
    if (r.outcome === 'interrupted') return { outcome: 'interrupted', exit_code: 130, workstreams: summaries, notes };
    if (failed) return { outcome: 'failed', exit_code: 1, workstreams: summaries, notes };
    return cancelled ? { outcome: 'cancelled', exit_code: 1, workstreams: summaries, notes } : { outcome: 'completed', exit_code: 0, workstreams: summaries, notes };
  } catch (e) {
    await engine.shutdown(e instanceof CairnError && e.code === 'WORKERS_FAILING' ? 'workers_failing' : 'error').catch(() => undefined);
    throw e;
  } finally {
    if (progress) clearInterval(progress);
    o.signal?.removeEventListener('abort', onAbort);
    await store.close().catch(() => undefined);
  }
}

/**
 * Retention (config.json's *_keep and *_max_age_days) once a run has ended, as `cairn prune` does.
 * Housekeeping of derived files: a failure is a note, never the run's outcome.
 */
async function retention(store: Store, o: RunOptions, note: (m: string) => void): Promise<void> {
  try {
    const plan = await pruneStore(store, (o.clock ?? Date.now)(), false);
    const bytes = plan.remove.reduce((n, r) => n + r.bytes, 0);
    if (plan.remove.length > 0) note(`retention removed ${plan.remove.length} file(s), ${bytes} bytes (cairn prune --dry-run shows what the rules match and why)`);
  } catch (e) {
    note(`retention was not applied: ${(e as Error).message} (cairn prune retries it)`);
  }
}

/** What `cairn run spec.json` says of a spec whose workstream exists: resumed, or what to run to change or repeat it. */
function submittedBefore(state: string, id: string, file: string): string {
  if (state === 'completed') return `nothing to run for it. To run it again: cairn rerun-workstream --workstream-id ${id} (a new workstream) or cairn reset-workstream --workstream-id ${id}`;
  if (state === 'failed' || state === 'cancelled') {
    return `nothing to run for it. To apply a changed spec: cairn submit --update ${file}, then cairn retry-failed-tasks --workstream-id ${id} (or retry-workstream) and cairn run`;
  }
  return `resuming it (a changed spec is not applied by run: cairn submit --update ${file})`;
}
