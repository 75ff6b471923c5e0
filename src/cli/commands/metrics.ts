import type { CommandModule } from 'yargs';
import { METRIC_DEFINITIONS, metrics, type MetricsResult } from '../../index.js';
import { common, emit, type GlobalArgs, table, warn } from '../output.js';

interface MetricsArgs extends GlobalArgs { since?: string; until?: string; 'workstream-id'?: string }

/** `cairn metrics`: figures of a window of the log, each defined in the --help text. */
export const metricsCommand: CommandModule<GlobalArgs, MetricsArgs> = {
  command: 'metrics',
  describe: 'Recoveries by kind, failures by kind, attempts per task, task durations and throughput, computed from the log for any window',
  builder: (y) => y
    .option('since', { type: 'string', describe: 'count only what came after this point: a seq, a date-time, git:<rev> or now' })
    .option('until', { type: 'string', describe: 'count only up to and including this point' })
    .option('workstream-id', { type: 'string', describe: 'only this workstream\'s records' })
    .example('$0 metrics', 'the whole log')
    .example('$0 metrics --since 2026-12-06T00:00:00Z --json', 'what happened since that time, as one JSON document')
    .epilogue([
      'Figures:',
      ...Object.entries(METRIC_DEFINITIONS).map(([k, v]) => `  ${k}: ${v}`),
      'Over the whole log, every figure equals .state/metrics.json\'s (same names and shape).',
      'Exit codes: 0 shown (also an empty window); 2 a bad point, a point the log or git does not have, --since not before --until, or an unknown workstream.',
    ].join('\n')) as never,
  handler: async (a) => {
    const r = await metrics({ ...common(a), since: a.since, until: a.until, workstream: a['workstream-id'] });
    warn(r.warnings);
    emit(a, r, () => text(r));
  },
};

const ms = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : n < 10_000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`);

function text(r: MetricsResult): string {
  const where = `${r.since ? `after ${r.since.text} (seq ${r.since.seq})` : 'from the start'} ${r.until ? `to ${r.until.text} (seq ${r.until.seq})` : 'to the end'}`;
  const out = [`metrics${r.workstream_id ? ` of workstream ${r.workstream_id}` : ''}, ${where}: ${r.records} record(s)${r.first_seq !== null ? ` (seq ${r.first_seq}-${r.last_seq})` : ''}, span ${ms(r.span.ms)}`];
  const kinds = Object.entries(r.recoveries);
  out.push('', kinds.length === 0 ? 'recoveries: none' : 'recoveries:');
  if (kinds.length > 0) {
    out.push(table([['  kind', 'count', 'succeeded', 'failed', 'pending', 'rate', 'time to recover (p50 / max)'], ...kinds.map(([k, v]) => [
      `  ${k}`, String(v.count), String(v.succeeded), String(v.failed), String(v.pending), v.success_rate === null ? '-' : `${Math.round(v.success_rate * 100)}%`,
      v.time_to_recover_ms ? `${ms(v.time_to_recover_ms.p50)} / ${ms(v.time_to_recover_ms.max)}` : '-',
    ])]));
  }
  const f = r.failures;
  const kindsText = Object.entries(f.by_kind).filter(([, n]) => n > 0).map(([k, n]) => `${k}: ${n}${k === 'exit' ? ` [${Object.entries(f.exit_codes).map(([c, m]) => `code ${c}: ${m}`).join(', ')}]` : ''}`);
  out.push('', `failed attempts: ${f.total}${kindsText.length ? ` (${kindsText.join(', ')})` : ''}; tasks that ended failed: ${f.tasks_failed}`);
  const at = r.attempts;
  out.push(`attempts: ${at.total} over ${at.tasks} task(s)${at.mean !== null ? `, mean ${at.mean}, max ${at.max}; tasks by attempts: ${Object.entries(at.distribution).map(([n, c]) => `${n}: ${c}`).join(', ')}` : ''}`);
  const ws = Object.entries(r.durations);
  out.push('', ws.length === 0 ? 'task durations: no task completed' : 'task durations (start of the completing attempt to completion):');
  if (ws.length > 0) out.push(table([['  workstream', 'completed', 'p50', 'p95', 'max'], ...ws.map(([id, d]) => [`  ${id}`, String(d.count), ms(d.p50), ms(d.p95), ms(d.max)])]));
  const t = r.throughput;
  out.push('', `throughput: ${t.completed} task(s) completed${t.per_hour !== null ? `, ${t.per_hour} per hour, ${t.per_minute} per minute` : ''}`);
  return out.join('\n');
}
