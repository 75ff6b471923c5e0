import { slurmLiveText, type status } from '../index.js';
import { table } from './output.js';

type Live = Awaited<ReturnType<typeof status>>;
type LiveWorkstream = Live['workstreams'][number];
/** `status`'s document, or a past point's (`state --at`), whose tasks carry no live Slurm state. */
export type StatusDoc = Omit<Live, 'workstreams'> & { workstreams: (Omit<LiveWorkstream, 'tasks'> & { tasks?: LiveWorkstream['tasks'] })[] };

const ORDER = ['running', 'validating', 'queued', 'retrying', 'pending', 'blocked', 'failed', 'completed', 'skipped', 'cancelled'] as const;

/** "3 completed, 1 running, 2 queued" (non-zero counts only). */
export function countsLine(counts: Record<string, number>): string {
  return ORDER.filter((k) => (counts[k] ?? 0) > 0).map((k) => `${counts[k]} ${k}`).join(', ') || 'no tasks';
}

/** The human form of `cairn status`. */
export function renderStatus(s: StatusDoc, now = Date.now()): string {
  const out: string[] = [];
  out.push(`state at seq ${s.seq} · ${schedulerLine(s.scheduler)}`);
  if (s.workstreams.length === 0) out.push('no active workstreams' + (s.archived.length ? ` (${s.archived.length} archived: cairn status --all)` : ''));
  for (const ws of s.workstreams) {
    out.push('', `workstream ${ws.id}  ${ws.state}  ${ws.total} tasks: ${countsLine(ws.counts)}`);
    if (ws.failure) out.push(`  failed: ${ws.failure.reason}`);
    const tasks = ws.tasks ?? [];
    const shown = tasks.length > 60 ? tasks.filter((t) => !['completed', 'pending', 'skipped'].includes(t.state)).slice(0, 60) : tasks;
    const rows = shown.map((t) => [
      `  ${t.id}`, t.orphaned ? `${t.state} (scheduler gone)` : t.state, t.attempt > 0 ? `attempt ${t.attempt}` : '', `retries ${t.retry_count}/${t.max_retries}`,
      t.worker_id && (t.state === 'running' || t.state === 'validating') ? `on ${t.worker_id}${t.job_id ? ` (${t.executor} ${t.slurm ? slurmLiveText(t.slurm) : `job ${t.job_id}`})` : ''}${t.started_at ? ` ${elapsed(now - Date.parse(t.started_at))}` : ''}` : '',
      note(t),
    ]);
    if (rows.length) out.push(table(rows));
    if (shown.length < tasks.length) out.push(`  (${tasks.length - shown.length} more; cairn status --workstream-id ${ws.id} --json for all)`);
  }
  if (s.workers.length) out.push('', 'workers: ' + s.workers.map((w) => `${w.id} ${w.state}${w.task ? ` (${w.task})` : ''}`).join(', '));
  if (s.resources.length) {
    out.push('resources: ' + s.resources.map((r) => `${r.id} ${Object.values(r.holders).reduce((a, b) => a + b, 0)}/${r.max_holders ?? '∞'}`).join(', '));
  }
  return out.join('\n');
}

/** The scheduler the state records: running, or gone with what the next `cairn run` does about it. */
function schedulerLine(sched: StatusDoc['scheduler']): string {
  if (!sched) return 'no scheduler recorded as running';
  if (sched.alive) return `scheduler pid ${sched.pid} since ${sched.started_at}`;
  const n = sched.orphaned_tasks.length;
  const left = n === 0 ? 'it left no task running' : `the next cairn run requeues the ${n} task${n === 1 ? '' : 's'} it left running (${sched.orphaned_tasks.slice(0, 5).join(', ')}${n > 5 ? ', …' : ''})`;
  return `scheduler pid ${sched.pid} (since ${sched.started_at}) is gone: it was killed or crashed; ${left}`;
}

function note(t: StatusDoc['workstreams'][number]['tasks'] extends (infer U)[] | undefined ? U : never): string {
  if (t.state === 'retrying' && t.retry_at) return `retry at ${t.retry_at.slice(11, 19)}`;
  if (t.state === 'blocked' && t.blocked_by) return `blocked by ${t.blocked_by}`;
  if (t.state === 'cancelled' && t.cancel_trigger) return `by ${t.cancel_trigger}`;
  const o = t.last_outcome;
  if ((t.state === 'failed' || t.state === 'retrying') && o) return `${o.kind}${o.exit_code !== null ? ` ${o.exit_code}` : ''}${o.signal ? ` ${o.signal}` : ''}`;
  return '';
}

export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
