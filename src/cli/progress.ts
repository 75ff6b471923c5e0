import type { LogRecord, RunResult } from '../index.js';
import { countsLine, elapsed } from './render.js';

/** One line per state change, for logs and pipes (not a terminal). */
export function changeLine(r: LogRecord): string | null {
  const t = r.ts.slice(11, 23);
  const who = r.task_id !== undefined ? `${String(r.workstream_id)}/${String(r.task_id)}` : r.workstream_id ?? r.worker_id ?? r.resource_id;
  switch (r.type) {
    case 'task_started': return `${t}  ${who}  started attempt ${String(r.attempt)} on ${String(r.worker_id)}`;
    case 'task_completed': return `${t}  ${who}  completed`;
    case 'task_attempt_failed':
    case 'task_timed_out': return `${t}  ${who}  ${outcomeText(r)}; retry ${String(r.retry_count)} at ${String(r.retry_at).slice(11, 23)}`;
    case 'task_failed':
    case 'task_validation_failed': return `${t}  ${who}  FAILED: ${outcomeText(r)}`;
    case 'task_validating': return `${t}  ${who}  validating`;
    case 'task_reassigned': return `${t}  ${who}  requeued (${String(r.trigger)}; no retry spent)`;
    case 'task_cancelled': return `${t}  ${who}  cancelled (${String(r.trigger ?? 'operator')})`;
    case 'task_blocked': return `${t}  ${who}  blocked by failed ${String(r.blocked_by)}`;
    case 'workstream_completed': return `${t}  workstream ${String(r.workstream_id)} completed`;
    case 'workstream_failed': return `${t}  workstream ${String(r.workstream_id)} FAILED: ${String(r.failure ?? '')}`;
    case 'worker_unresponsive': return `${t}  worker ${who} unresponsive (${String(r.silent_ms)} ms without heartbeat)`;
    case 'worker_recovered': return `${t}  worker ${who} recovered`;
    case 'worker_shutdown': return `${t}  worker ${who} shut down (${String(r.trigger)})`;
    case 'resource_exhausted': return `${t}  ${who}  has waited ${String(r.waited_ms)} ms for resource ${String(r.resource_id)}`;
    default: return r.operator ? `${t}  ${r.type} ${who ?? ''} by ${r.operator}` : null;
  }
}

function outcomeText(r: LogRecord): string {
  const o = r.outcome as { kind: string; exit_code: number | null; signal: string | null; message: string | null } | undefined;
  if (!o) return 'failed';
  if (o.kind === 'timeout') return 'timed out';
  if (o.kind === 'exit') return `exit ${o.exit_code}`;
  if (o.kind === 'signal') return `killed by ${o.signal}`;
  return `${o.kind}${o.message ? `: ${o.message}` : ''}`;
}

interface Live {
  counts: Map<string, string>;
  running: Map<string, { since: number; attempt: number; worker: string }>;
  failures: string[];
}

/** The live view of a terminal: counts by state, running tasks with elapsed time and attempt, last failures. */
export class LiveView {
  private readonly live: Live = { counts: new Map(), running: new Map(), failures: [] };
  private timer: NodeJS.Timeout | null = null;
  private lines = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  start(): void {
    this.timer = setInterval(() => this.draw(), 250);
  }

  record(r: LogRecord): void {
    if (r.task_id === undefined || r.to === undefined) return;
    const key = `${String(r.workstream_id)}/${String(r.task_id)}`;
    this.live.counts.set(key, String(r.to));
    if (r.type === 'task_started') this.live.running.set(key, { since: Date.parse(r.ts), attempt: Number(r.attempt), worker: String(r.worker_id) });
    else if (r.to !== 'running' && r.to !== 'validating') this.live.running.delete(key);
    if (r.type === 'task_failed' || r.type === 'task_validation_failed' || r.type === 'task_attempt_failed' || r.type === 'task_timed_out') {
      this.live.failures.push(changeLine(r) ?? key);
      if (this.live.failures.length > 5) this.live.failures.shift();
    }
  }

  private draw(): void {
    const counts: Record<string, number> = {};
    for (const s of this.live.counts.values()) counts[s] = (counts[s] ?? 0) + 1;
    const now = Date.now();
    const rows = [`cairn run: ${countsLine(counts)}`];
    for (const [k, v] of [...this.live.running].slice(0, 12)) rows.push(`  ▶ ${k}  attempt ${v.attempt} on ${v.worker}  ${elapsed(now - v.since)}`);
    if (this.live.running.size > 12) rows.push(`  … ${this.live.running.size - 12} more running`);
    if (this.live.failures.length) rows.push('  recent failures:', ...this.live.failures.map((f) => `    ${f}`));
    const cols = this.out.columns ?? 100;
    const text = rows.map((r) => r.slice(0, cols - 1));
    this.out.write((this.lines > 0 ? `\x1b[${this.lines}F\x1b[J` : '') + text.join('\n') + '\n');
    this.lines = text.length;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.draw();
  }
}

/** The end of a run for humans: each workstream's outcome and, when one failed, what to try next. */
export function runSummary(r: RunResult): string {
  const out: string[] = [];
  for (const ws of r.workstreams) {
    out.push(`workstream ${ws.id}: ${ws.state} (${countsLine(ws.counts)})`);
    if (ws.state === 'failed') {
      const failed = (ws.tasks ?? []).filter((t) => t.state === 'failed');
      for (const t of failed) out.push(`  ${t.id} failed: ${t.last_outcome ? (t.last_outcome.kind === 'exit' ? `exit ${t.last_outcome.exit_code}` : t.last_outcome.kind) : ''} after ${t.attempt} attempt(s)${t.critical ? ' (critical)' : ''}`);
      out.push('  to recover, try:');
      out.push(`    cairn analyze-workstream-failure --workstream-id ${ws.id}`);
      for (const t of failed.slice(0, 3)) {
        out.push(`    cairn show-task --task-id ${ws.id}/${t.id} --include-logs`);
        out.push(`    cairn retry-task --task-id ${ws.id}/${t.id}        (after fixing the cause; then: cairn run)`);
      }
      out.push(`    cairn retry-failed-tasks --workstream-id ${ws.id}`);
    }
  }
  if (r.outcome === 'interrupted') out.push('interrupted: running tasks were stopped and requeued (no retry spent); run `cairn run` to resume');
  return out.join('\n');
}
