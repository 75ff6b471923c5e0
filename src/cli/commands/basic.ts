import type { CommandModule } from 'yargs';
import { CairnError, showDependencies, showTask, slurmLiveText, status, submit } from '../../index.js';
import { submitUpdateCommand } from './recovery/update.js';
import { common, emit, type GlobalArgs } from '../output.js';
import { renderStatus } from '../render.js';

interface SubmitArgs extends GlobalArgs { spec: string; update?: boolean; 'dry-run'?: boolean }
export const submitCommand: CommandModule<GlobalArgs, SubmitArgs> = {
  command: 'submit <spec>',
  describe: 'Validate a workstream spec and record it (its first tasks become queued); does not run anything. With --update, apply a changed spec to the workstream of its id',
  builder: (y) => y.positional('spec', { type: 'string', demandOption: true, describe: 'the workstream spec (JSON)' })
    .option('update', {
      type: 'boolean',
      describe: 'apply the changed spec to its workstream (not completed): changed unfinished tasks take the new definition, new tasks are added, unchanged and completed tasks keep their state; a task left out must be completed, skipped or cancelled first (cancel-task). Checked as at submit',
    })
    .option('dry-run', { type: 'boolean', describe: 'with --update: show the difference task by task; write nothing' })
    .example('$0 submit --update fixed.json --dry-run', 'what the changed spec would change')
    .example('$0 submit --update fixed.json && $0 retry-failed-tasks --workstream-id W && $0 run', 'fix a failed workstream\'s spec and run it again') as never,
  handler: async (a) => {
    if (a.update) return submitUpdateCommand(a);
    if (a['dry-run']) throw new CairnError('BAD_INPUT', '--dry-run goes with --update here (a plain submit writes nothing until it is valid)', { hint: 'cairn submit --update spec.json --dry-run' });
    const r = await submit({ ...common(a), spec: a.spec, init: true });
    emit(a, { workstream_id: r.workstream_id, tasks: r.tasks, queued: r.queued, seq: r.records.at(-1)?.seq ?? null }, () =>
      `submitted ${r.workstream_id}: ${r.tasks} tasks, ${r.queued.length} queued (${firstIds(r.queued)})\nrun it with: cairn run`);
  },
};

/** The first ids of a list for a human line: a spec of 100,000 tasks does not print them all (--json has every one). */
function firstIds(ids: readonly string[], shown = 20): string {
  return ids.length <= shown ? ids.join(', ') : `${ids.slice(0, shown).join(', ')} and ${ids.length - shown} more`;
}

interface StatusArgs extends GlobalArgs { 'workstream-id'?: string; all?: boolean; watch?: boolean }
export const statusCommand: CommandModule<GlobalArgs, StatusArgs> = {
  command: 'status',
  describe: 'Show workstreams, tasks, workers and resources; a task running on Slurm shows its job\'s live state (one squeue)',
  builder: (y) => y
    .option('workstream-id', { type: 'string', describe: 'only this workstream (active or archived)' })
    .option('all', { type: 'boolean', describe: 'include completed and failed (archived) workstreams' })
    .option('watch', { type: 'boolean', describe: 'redraw live as the state changes (Ctrl-C to stop)' }) as never,
  handler: async (a) => {
    const opts = { ...common(a), workstreamId: a['workstream-id'], all: a.all };
    if (a.watch) {
      const { watchStatus } = await import('../watch.js');
      await watchStatus(opts);
      return;
    }
    const s = await status(opts);
    for (const w of s.warnings) process.stderr.write(`warning: ${w}\n`);
    emit(a, s, () => renderStatus(s));
  },
};

interface TaskArgs extends GlobalArgs { 'task-id': string; 'workstream-id'?: string; 'include-logs'?: boolean; lines?: number }
const taskOptions = (y: import('yargs').Argv<GlobalArgs>) => y
  .option('task-id', { type: 'string', demandOption: true, describe: '<workstream>/<task>, or a bare task id when unambiguous' })
  .option('workstream-id', { type: 'string', describe: 'the workstream of a bare task id' });

export const showTaskCommand: CommandModule<GlobalArgs, TaskArgs> = {
  command: 'show-task',
  describe: 'Show one task: definition, state, attempts, dependencies, and optionally its logs; on Slurm, its job\'s live state (squeue)',
  builder: (y) => taskOptions(y)
    .option('include-logs', { type: 'boolean', describe: 'the last lines of every attempt\'s log' })
    .option('lines', { type: 'number', default: 40, describe: 'how many log lines per attempt' }) as never,
  handler: async (a) => {
    const r = await showTask({ ...common(a), task: a['task-id'], workstreamId: a['workstream-id'], includeLogs: a['include-logs'], logLines: a.lines });
    emit(a, r, () => {
      const t = r.task;
      const lines = [
        `task ${t.workstream_id}/${t.id}: ${t.state}${t.critical ? ' (critical)' : ''}`,
        `  command      ${JSON.stringify(t.command)}${t.validate ? `\n  validate     ${JSON.stringify(t.validate)}` : ''}`,
        `  attempt      ${t.attempt}   retries ${t.retry_count}/${t.max_retries}   timeout ${t.timeout_seconds ?? 'none'}${t.timeout_seconds ? 's' : ''}`,
        ...(t.worker_id ? [`  worker       ${t.worker_id}${t.pid ? ` (pid ${t.pid})` : ''}`] : []),
        ...(t.job_id ? [`  job          ${t.executor} ${r.slurm ? slurmLiveText(r.slurm) : `job ${t.job_id}`} (squeue -j ${t.job_id})`] : []),
        ...(t.retry_at ? [`  retry at     ${t.retry_at}`] : []),
        ...(t.blocked_by ? [`  blocked by   ${t.blocked_by} (failed)`] : []),
        ...(t.cancel_trigger && t.state === 'cancelled' ? [`  cancelled by ${t.cancel_trigger}`] : []),
        ...(t.last_outcome ? [`  last outcome ${t.last_outcome.kind}${t.last_outcome.exit_code !== null ? ` exit ${t.last_outcome.exit_code}` : ''}${t.last_outcome.signal ? ` ${t.last_outcome.signal}` : ''}${t.last_outcome.message ? `: ${t.last_outcome.message}` : ''}`] : []),
        `  depends on   ${r.dependencies.depends_on.map((d) => `${d.id} (${d.state})`).join(', ') || '-'}`,
        `  dependents   ${r.dependencies.dependents.map((d) => `${d.id} (${d.state})`).join(', ') || '-'}`,
      ];
      for (const l of r.logs ?? []) lines.push(`--- attempt ${l.attempt}: ${l.path}`, ...l.tail.map((x) => `  ${x}`));
      return lines.join('\n');
    });
  },
};

export const showDependenciesCommand: CommandModule<GlobalArgs, TaskArgs> = {
  command: 'show-dependencies',
  describe: 'Show what a task waits for and what waits for it',
  builder: (y) => taskOptions(y) as never,
  handler: async (a) => {
    const r = await showDependencies({ ...common(a), task: a['task-id'], workstreamId: a['workstream-id'] });
    emit(a, r, () => [
      `task ${r.task.workstream_id}/${r.task.id}: ${r.task.state}`,
      'depends on:', ...(r.depends_on.length ? r.depends_on.map((d) => `  ${d.id}  ${d.state}${d.critical ? ' (critical)' : ''}`) : ['  (nothing)']),
      'needed by:', ...(r.dependents.length ? r.dependents.map((d) => `  ${d.id}  ${d.state}`) : ['  (nothing)']),
      ...(r.waiting_on.length ? [`waiting on: ${r.waiting_on.join(', ')}`] : []),
    ].join('\n'));
  },
};
