import type { CommandModule } from 'yargs';
import { analyzeWorkstreamFailure, listCheckpoints, showCheckpoint, resumeWorkstream, retryFailedTasks, retryWorkstream, rollbackWorkstream, slurmLiveText, CairnError } from '../../../index.js';
import { common, emit, type GlobalArgs, table } from '../../output.js';
import { type ActionArgs, perform, renderAction, withDryRun } from './common.js';

interface WsArgs extends ActionArgs { 'workstream-id': string }
const wsFlag = <T>(y: import('yargs').Argv<T>) => y.option('workstream-id', { type: 'string', demandOption: true, describe: 'the workstream' });

export const retryWorkstreamCommand: CommandModule<GlobalArgs, WsArgs> = {
  command: 'retry-workstream',
  describe: 'Run again everything of a workstream that did not finish well (failed tasks and those its critical failure cancelled), with fresh retry budgets',
  builder: (y) => withDryRun(wsFlag(y)) as never,
  handler: async (a) => {
    await perform(a, (dryRun) => retryWorkstream({ ...common(a), workstream: a['workstream-id'], dryRun }), renderAction);
  },
};

interface RetryFailedArgs extends WsArgs { 'reset-retries'?: boolean }
export const retryFailedTasksCommand: CommandModule<GlobalArgs, RetryFailedArgs> = {
  command: 'retry-failed-tasks',
  describe: 'Send only the failed tasks of a workstream back to pending (reopening it if it failed)',
  builder: (y) => withDryRun(wsFlag(y)).option('reset-retries', { type: 'boolean', describe: 'give each a fresh retry budget (otherwise one more attempt each)' }) as never,
  handler: async (a) => {
    await perform(a, (dryRun) => retryFailedTasks({ ...common(a), workstream: a['workstream-id'], dryRun, resetRetries: a['reset-retries'] }), renderAction);
  },
};

interface ResumeArgs extends WsArgs { 'from-task'?: string; param?: string[] }
export const resumeWorkstreamCommand: CommandModule<GlobalArgs, ResumeArgs> = {
  command: 'resume-workstream',
  describe: 'Carry on after a manual fix: reopen, retry failed tasks; --from-task T skips T\'s unfinished dependencies (done by hand); --param k=v changes params',
  builder: (y) => withDryRun(wsFlag(y))
    .option('from-task', { type: 'string', describe: 'resume from this task: its unfinished dependencies count as done by hand (skipped)' })
    .option('param', { type: 'string', array: true, describe: 'change a param for the tasks that start from now on (repeatable): k=v' }) as never,
  handler: async (a) => {
    const params = parseParams(a.param ?? []);
    await perform(a, (dryRun) => resumeWorkstream({ ...common(a), workstream: a['workstream-id'], dryRun, fromTask: a['from-task'], params }), renderAction);
  },
};

function parseParams(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list) {
    const i = p.indexOf('=');
    if (i <= 0) throw new CairnError('BAD_INPUT', `--param ${JSON.stringify(p)} is not k=v`, { hint: 'e.g. --param channel=beta' });
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

interface RollbackArgs extends WsArgs { 'to-checkpoint': string }
export const rollbackWorkstreamCommand: CommandModule<GlobalArgs, RollbackArgs> = {
  command: 'rollback-workstream',
  describe: 'Reset a workstream\'s tasks to a checkpoint: running ones killed, each unfinished task back to the checkpoint\'s completed/skipped or to pending (asks for confirmation)',
  builder: (y) => withDryRun(wsFlag(y))
    .option('to-checkpoint', { type: 'string', default: 'latest', describe: 'latest, the seq of any point at which a task of the workstream changed state (computed from the log; no checkpoint file needed), or a name given with cairn checkpoint. Read as: latest; all digits: a seq; else a name (list them: cairn checkpoints)' }) as never,
  handler: async (a) => {
    await perform(a, (dryRun) => rollbackWorkstream({ ...common(a), workstream: a['workstream-id'], toCheckpoint: String(a['to-checkpoint']), dryRun }), renderAction,
      (p) => `Roll workstream ${a['workstream-id']} back to checkpoint ${p.checkpoint.seq}${p.checkpoint.name ? ` "${p.checkpoint.name}"` : ''} (${p.records.filter((r) => r.type === 'task_cancelled').length} running task(s) killed)?`);
  },
};

interface CkArgs extends WsArgs { show?: string }
export const checkpointsCommand: CommandModule<GlobalArgs, CkArgs> = {
  command: 'checkpoints',
  describe: 'List every checkpoint of a workstream computed from the log (each point its tasks changed state at: seq, time, counts, what moved it, its names; * = a checkpoint file is written for it), the named ones, then the files with their hash status; --show <seq> prints one',
  builder: (y) => wsFlag(y).option('show', { type: 'string', describe: 'print the checkpoint at this seq, name or latest: the document a checkpoint file holds, computed from the log' }) as never,
  handler: async (a) => {
    if (a.show !== undefined) {
      const s = await showCheckpoint({ ...common(a), workstream: a['workstream-id'], show: String(a.show) });
      // The document itself, in --json too: byte for byte what a checkpoint file holds.
      emit(a, s.doc, () => JSON.stringify(s.doc, null, 2));
      return;
    }
    const r = await listCheckpoints({ ...common(a), workstream: a['workstream-id'] });
    const by = (p: (typeof r.points)[number]) => `${p.decision.types.join(',')}${p.decision.operator ? ` by ${p.decision.operator}${p.decision.action ? ` (${p.decision.action})` : ''}` : ''}`;
    emit(a, r, () => [
      `workstream ${r.workstream_id} (${r.state}), ${r.points.length} checkpoint(s) in the log, last task change at seq ${r.last_task_seq} (* = file written):`,
      table([['   seq', 'time', 'completed', 'failed', 'pending', 'moved by'], ...r.points.map((p) => [
        `${p.written ? ' *' : '  '} ${p.seq}`, p.checkpoint_at, String(p.completed), String(p.failed), String(p.pending), `${by(p)}${p.file_problem ? ` [file ${p.file}: ${p.file_problem}]` : ''}${p.names.length ? ` [named ${p.names.join(', ')}]` : ''}`,
      ])]),
      ...(r.names.length ? ['named (cairn checkpoint; --to-checkpoint NAME):', table(r.names.map((n) => [`  ${n.name}`, `seq ${n.seq}`, n.named_at, n.operator ?? '-', n.reason ?? '']))] : []),
      'files:',
      table([['  name', 'seq', 'time', 'hash', 'completed', 'failed', 'pending'], ...r.checkpoints.map((c) => [
        `  ${c.name}`, String(c.seq ?? '-'), c.checkpoint_at ?? '-', c.hash_ok ? 'ok' : `BAD: ${c.error}`,
        String(c.completed ?? '-'), String(c.failed ?? '-'), String(c.pending ?? '-'),
      ])]),
      ...(r.checkpoints.length === 0 ? ['  (none written; every checkpoint above is still computed from the log)'] : []),
    ].join('\n'));
  },
};

interface AnalyzeArgs extends WsArgs { lines?: number }
export const analyzeCommand: CommandModule<GlobalArgs, AnalyzeArgs> = {
  command: 'analyze-workstream-failure',
  describe: 'Explain what failed in a workstream (each attempt, its log, its Slurm job\'s state) and give a recovery plan with the exact commands',
  builder: (y) => wsFlag(y).option('lines', { type: 'number', default: 10, describe: 'log lines shown per attempt' }) as never,
  handler: async (a) => {
    const r = await analyzeWorkstreamFailure({ ...common(a), workstream: a['workstream-id'], logLines: a.lines });
    emit(a, r, () => {
      const out = [`workstream ${r.workstream_id}: ${r.state}${r.failure ? ` (${r.failure.reason})` : ''}; diagnosis: ${r.diagnosis.replace(/_/g, ' ')}`];
      for (const c of r.systemic_causes) out.push(`  cause: ${c}`);
      for (const t of r.tasks) {
        out.push('', `${t.task}: ${t.state}${t.critical ? ' (critical)' : ''}, ${t.kind}${t.exit_code !== null ? ` ${t.exit_code}` : ''}${t.signal ? ` ${t.signal}` : ''}${t.blocked_by ? ` by ${t.blocked_by}${t.root_cause && t.root_cause !== t.blocked_by ? ` (root cause ${t.root_cause})` : ''}` : ''}; retries ${t.retry_count}/${t.max_retries}`);
        out.push(`  ${t.category}: ${t.advice}`);
        for (const at of t.attempts) {
          out.push(`  attempt ${at.attempt} on ${at.worker_id ?? '?'} ${at.started_at ?? ''} -> ${at.ended_at ?? 'still running'} ${at.ended_by ?? ''}${at.outcome ? `: ${at.outcome.message ?? at.outcome.kind}` : ''}`);
          if (at.slurm) out.push(`    slurm ${slurmLiveText(at.slurm)}`);
          for (const l of at.log_tail) out.push(`    | ${l}`);
        }
      }
      if (r.cancelled_by_critical_failure.length) out.push('', `cancelled by the critical failure (a retry returns them to pending): ${r.cancelled_by_critical_failure.join(', ')}`);
      out.push('', 'recovery plan:');
      r.plan.forEach((s, i) => {
        out.push(`  ${i + 1}. ${s.step}`);
        for (const c of s.commands) out.push(`       ${c}`);
      });
      return out.join('\n');
    });
  },
};

export const WORKSTREAM_COMMANDS = [retryWorkstreamCommand, retryFailedTasksCommand, resumeWorkstreamCommand, rollbackWorkstreamCommand, checkpointsCommand, analyzeCommand];
