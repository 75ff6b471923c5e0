import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type LogRecord, snapshotTime, streamEvents, TASK_STATES, VERSION, WORKER_STATES, WORKSTREAM_STATES } from '../index.js';
import type { ServerContext } from './context.js';

/** How an attempt ended, from its record's `outcome.kind` (.state/README.md): a bounded label. */
const OUTCOME_KINDS = ['exit', 'signal', 'timeout', 'spawn_error', 'worker_lost', 'validation', 'cancelled'] as const;
const ENDS_ATTEMPT = new Set(['task_completed', 'task_attempt_failed', 'task_timed_out', 'task_failed', 'task_validation_failed']);
const FAILED = new Set(['task_attempt_failed', 'task_timed_out', 'task_failed', 'task_validation_failed']);

/**
 * `GET /metrics`: the Prometheus text format (prom-client, a registry of our own). Labels are bounded
 * enums only (states, outcome kinds, recovery tools), never ids, and every known label set is
 * exported at 0 from the start so `increase()` sees the first one. Gauges and the totals the state
 * keeps (attempts, recoveries) are read from the live state at each scrape; failures and durations
 * are counted from the records, the log's old ones once at start and the new ones as they come.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly failures: Counter<'kind'>;
  private readonly durations: Histogram<'outcome'>;
  /** seq up to which the records were counted (the start pass stops there; the live ones begin after it). */
  private counted: number;

  constructor(private readonly ctx: ServerContext) {
    const r = this.registry;
    const live = () => ctx.live.current();
    new Gauge({ name: 'cairn_build_info', help: 'The cairn version serving these metrics', labelNames: ['version'], registers: [r], collect() { this.set({ version: VERSION }, 1); } });
    new Gauge({
      name: 'cairn_tasks', help: 'Tasks by state, over every workstream the state holds', labelNames: ['state'], registers: [r],
      collect() {
        const s = live().state;
        const n: Record<string, number> = Object.fromEntries(TASK_STATES.map((x) => [x, 0]));
        for (const id of s.workstreamIds()) for (const [k, v] of Object.entries(s.workstream(id)!.counts)) n[k] = (n[k] ?? 0) + v;
        for (const [k, v] of Object.entries(n)) this.set({ state: k }, v);
      },
    });
    new Gauge({
      name: 'cairn_workstreams', help: 'Workstreams by state', labelNames: ['state'], registers: [r],
      collect() {
        const s = live().state;
        const n: Record<string, number> = Object.fromEntries(WORKSTREAM_STATES.map((x) => [x, 0]));
        for (const id of s.workstreamIds()) n[s.workstream(id)!.state]! += 1;
        for (const [k, v] of Object.entries(n)) this.set({ state: k }, v);
      },
    });
    new Gauge({
      name: 'cairn_workers', help: 'Workers by state', labelNames: ['state'], registers: [r],
      collect() {
        const s = live().state;
        const n: Record<string, number> = Object.fromEntries(WORKER_STATES.map((x) => [x, 0]));
        for (const id of s.workerIds()) n[s.worker(id)!.state]! += 1;
        for (const [k, v] of Object.entries(n)) this.set({ state: k }, v);
      },
    });
    const total = (name: string, help: string, read: () => number) =>
      new Counter({ name, help, registers: [r], collect() { this.reset(); this.inc(read()); } });
    total('cairn_task_attempts_total', 'Attempts started (every task_started in the log)', () => live().state.metrics().attempts);
    total('cairn_task_retries_total', 'Automatic retries scheduled', () => live().state.metrics().retries);
    total('cairn_task_timeouts_total', 'Attempts killed at their deadline', () => live().state.metrics().timeouts);
    total('cairn_task_reassignments_total', 'Tasks requeued because their worker or scheduler was lost', () => live().state.metrics().reassignments);
    new Counter({
      name: 'cairn_recoveries_total', help: 'Recoveries by the tool that made them (retry_task, rollback_workstream, …)', labelNames: ['kind'], registers: [r],
      collect() { this.reset(); for (const [k, v] of Object.entries(live().state.metrics().recoveries)) this.inc({ kind: k }, v.count); },
    });
    new Counter({
      name: 'cairn_recoveries_succeeded_total', help: 'Recoveries whose target task then completed', labelNames: ['kind'], registers: [r],
      collect() { this.reset(); for (const [k, v] of Object.entries(live().state.metrics().recoveries)) this.inc({ kind: k }, v.succeeded); },
    });
    this.failures = new Counter({ name: 'cairn_task_failures_total', help: 'Failed attempts by how they ended (outcome kind)', labelNames: ['kind'], registers: [r] });
    for (const k of OUTCOME_KINDS) this.failures.inc({ kind: k }, 0);
    this.durations = new Histogram({
      name: 'cairn_task_duration_seconds', help: 'Duration of finished attempts, by whether they completed', labelNames: ['outcome'], registers: [r],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    });
    for (const o of ['completed', 'failed']) this.durations.zero({ outcome: o });
    new Gauge({ name: 'cairn_log_last_seq', help: 'seq of the last record in the log', registers: [r], collect() { this.set(live().seq); } });
    new Gauge({ name: 'cairn_log_bytes', help: 'Size of transitions.jsonl', registers: [r], collect() { this.set(live().logBytes); } });
    new Gauge({
      name: 'cairn_last_snapshot_age_seconds', help: 'Seconds since current.json was last written (-1 when there is none)', registers: [r],
      collect() {
        const t = snapshotTime({ stateDir: ctx.stateDir });
        this.set(t === null ? -1 : Math.max(0, (Date.now() - t) / 1000));
      },
    });
    new Gauge({ name: 'cairn_sse_clients', help: 'Event streams open now', registers: [r], collect() { this.set(ctx.sseClients()); } });
    this.counted = ctx.live.current().seq;
    ctx.live.subscribe((records) => { for (const rec of records) if (rec.seq > this.counted) this.count(rec); });
    this.history = this.countHistory().catch(() => undefined);
  }

  /** The pass over the log's old records (started at once; the first scrape waits for it). */
  private readonly history: Promise<void>;

  /** Counts the log's records up to the seq the live handle had at start (in the background: a big log takes a while). */
  private async countHistory(): Promise<void> {
    const upTo = this.counted;
    await streamEvents({ stateDir: this.ctx.stateDir, types: [...ENDS_ATTEMPT] }, (batch) => {
      for (const rec of batch) {
        if (rec.seq > upTo) return false;
        this.count(rec);
      }
      return true;
    });
  }

  private count(r: LogRecord): void {
    if (!ENDS_ATTEMPT.has(r.type)) return;
    const outcome = (r as { outcome?: { kind?: string; duration_ms?: number } }).outcome;
    if (FAILED.has(r.type)) this.failures.inc({ kind: (OUTCOME_KINDS as readonly string[]).includes(outcome?.kind ?? '') ? outcome!.kind! : 'exit' });
    if (typeof outcome?.duration_ms === 'number') this.durations.observe({ outcome: r.type === 'task_completed' ? 'completed' : 'failed' }, outcome.duration_ms / 1000);
  }

  async text(): Promise<string> {
    await this.history;
    return this.registry.metrics();
  }
}
