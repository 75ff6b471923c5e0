import type { LogRecord, RunResult } from '../index.js';
import { countsLine, elapsed, type StatusDoc } from './render.js';

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
  if (o.kind === 'signal') return o.signal === null && o.message ? `killed: ${o.message}` : `killed by ${o.signal}`;
  return `${o.kind}${o.message ? `: ${o.message}` : ''}`;
}

/**
 * The live view on a terminal (for `cairn run` and `cairn status --watch`): counts by state, the
 * running tasks with elapsed time and attempt, the last failures; redrawn in place.
 */
export class LiveView {
  private lines = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  draw(s: StatusDoc): void {
    const cols = this.out.columns ?? 100;
    const text = liveLines(s).map((r) => r.slice(0, cols - 1));
    this.out.write((this.lines > 0 ? `\x1b[${this.lines}F\x1b[J` : '') + text.join('\n') + '\n');
    this.lines = text.length;
  }
}

export function liveLines(s: StatusDoc, now = Date.now()): string[] {
  const counts: Record<string, number> = {};
  const running: { key: string; attempt: number; worker: string | null; since: number }[] = [];
  const failures: { key: string; at: string; text: string }[] = [];
  for (const ws of s.workstreams) {
    for (const [k, n] of Object.entries(ws.counts)) counts[k] = (counts[k] ?? 0) + n;
    for (const t of ws.tasks ?? []) {
      if (t.state === 'running' || t.state === 'validating') running.push({ key: `${ws.id}/${t.id}`, attempt: t.attempt, worker: t.worker_id, since: t.started_at ? Date.parse(t.started_at) : now });
      if ((t.state === 'failed' || t.state === 'retrying') && t.last_outcome) {
        const o = t.last_outcome;
        failures.push({ key: `${ws.id}/${t.id}`, at: t.finished_at ?? t.retry_at ?? '', text: `${t.state}: ${o.kind === 'exit' ? `exit ${o.exit_code}` : o.kind}${t.state === 'retrying' && t.retry_at ? `, retry at ${t.retry_at.slice(11, 19)}` : ''}` });
      }
    }
  }
  const rows = [`${s.workstreams.length} workstream(s): ${countsLine(counts)}${s.workers.length ? ` · workers: ${s.workers.map((w) => `${w.id} ${w.state}`).join(', ')}` : ''}`];
  for (const r of running.slice(0, 12)) rows.push(`  ▶ ${r.key}  attempt ${r.attempt}${r.worker ? ` on ${r.worker}` : ''}  ${elapsed(now - r.since)}`);
  if (running.length > 12) rows.push(`  … ${running.length - 12} more running`);
  failures.sort((a, b) => a.at.localeCompare(b.at));
  if (failures.length) rows.push('  last failures:', ...failures.slice(-5).map((f) => `    ${f.key}  ${f.text}`));
  return rows;
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
