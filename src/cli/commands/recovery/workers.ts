import type { CommandModule } from 'yargs';
import { checkWorker, forceShutdownWorker, restartWorker, showWorkerLogs, slurmLiveText } from '../../../index.js';
import { common, emit, type GlobalArgs, table } from '../../output.js';
import { type ActionArgs, perform, renderAction, withDryRun } from './common.js';

interface WorkerArgs extends ActionArgs { 'worker-id': string; 'wait-ms'?: number }
const workerFlag = <T>(y: import('yargs').Argv<T>) => y.option('worker-id', { type: 'string', demandOption: true, describe: 'the worker (w1, w2, …)' });
const waitFlag = <T>(y: import('yargs').Argv<T>) => y.option('wait-ms', { type: 'number', default: 10_000, describe: 'how long to wait for the scheduler to act (0: do not wait)' });

export const checkWorkerCommand: CommandModule<GlobalArgs, WorkerArgs> = {
  command: 'check-worker',
  describe: 'Show a worker\'s state, live health (heartbeat) and task, with a verdict; exit 1 when it is not healthy. On Slurm: the task\'s job and every job in flight, with their live Slurm state',
  builder: (y) => workerFlag(y) as never,
  handler: async (a) => {
    const r = await checkWorker({ ...common(a), worker: a['worker-id'] });
    emit(a, r, () => [
      `worker ${r.worker.id}: ${r.verdict} (recorded ${r.worker.state}${r.worker.pid ? `, pid ${r.worker.pid}` : ''})`,
      ...(r.live ? [`  last heartbeat ${r.live.last_heartbeat_at ?? '?'} (${r.live.silent_ms ?? '?'} ms ago)`] : []),
      ...(r.task ? [`  task ${r.task.task}: ${r.task.state}, attempt ${r.task.attempt}, since ${r.task.started_at ?? '?'}${r.task.deadline ? `, deadline ${r.task.deadline}` : ''}`] : []),
      ...(r.job ? [`  slurm ${slurmLiveText(r.job)}`] : []),
      ...(r.executor_jobs.length ? [`  Slurm jobs in flight (${r.executor_jobs.length}):`, table(r.executor_jobs.map((j) => [`    ${j.task}`, j.worker_id ?? '-', slurmLiveText(j.slurm)]))] : []),
      ...(r.worker.pending_request ? [`  pending request: ${r.worker.pending_request.kind} (seq ${r.worker.pending_request.seq})`] : []),
      `  ${r.advice}`,
      ...r.commands.map((c) => `    ${c}`),
      ...(r.recent.length ? ['  recent records:', table(r.recent.map((x) => [`    ${x.seq}`, x.ts, x.type, x.task ?? '', x.trigger ? `(${String(x.trigger)})` : '']))] : []),
    ].join('\n'));
    if (!r.healthy) process.exitCode = 1;
  },
};

export const restartWorkerCommand: CommandModule<GlobalArgs, WorkerArgs> = {
  command: 'restart-worker',
  describe: 'Ask the running scheduler to restart a worker (its task is reassigned, no retry spent); exit 1 when no scheduler runs',
  builder: (y) => withDryRun(waitFlag(workerFlag(y))) as never,
  handler: async (a) => {
    const r = await perform(a, (dryRun) => restartWorker({ ...common(a), worker: a['worker-id'], dryRun, waitMs: a['wait-ms'] }), renderAction);
    if (r.scheduler_acted === false) process.exitCode = 1;
  },
};

interface ForceArgs extends WorkerArgs { reassign?: boolean }
export const forceShutdownWorkerCommand: CommandModule<GlobalArgs, ForceArgs> = {
  command: 'force-shutdown-worker',
  describe: 'Shut a worker down now; --reassign queues its task again without spending a retry (asks for confirmation)',
  builder: (y) => withDryRun(waitFlag(workerFlag(y))).option('reassign', { type: 'boolean', describe: 'queue its task again without spending a retry (otherwise the attempt counts as failed)' }) as never,
  handler: async (a) => {
    const r = await perform(a, (dryRun) => forceShutdownWorker({ ...common(a), worker: a['worker-id'], dryRun, waitMs: a['wait-ms'], reassign: a.reassign }), renderAction,
      () => `Shut worker ${a['worker-id']} down${a.reassign ? ' and reassign its task' : ' (its task\'s attempt counts as failed)'}?`);
    if (r.scheduler_acted === false) process.exitCode = 1;
  },
};

interface LogsArgs extends WorkerArgs { lines?: number }
export const showWorkerLogsCommand: CommandModule<GlobalArgs, LogsArgs> = {
  command: 'show-worker-logs',
  describe: 'Show the tail of a worker\'s stderr log and its recent records',
  builder: (y) => workerFlag(y).option('lines', { type: 'number', default: 50, describe: 'how many lines' }) as never,
  handler: async (a) => {
    const r = await showWorkerLogs({ ...common(a), worker: a['worker-id'], lines: a.lines });
    emit(a, r, () => [
      `worker ${r.worker_id} (${r.state}); log ${r.log_path}${r.log === null ? ' (empty or not written yet)' : ''}`,
      ...(r.log ?? []).map((l) => `  | ${l}`),
      'records:',
      table(r.records.map((x) => [`  ${x.seq}`, x.ts, x.type, x.task_id ? `${String(x.workstream_id)}/${String(x.task_id)}` : '', x.trigger ? `(${String(x.trigger)})` : ''])) || '  (none)',
    ].join('\n'));
  },
};

export const WORKER_COMMANDS = [checkWorkerCommand, restartWorkerCommand, forceShutdownWorkerCommand, showWorkerLogsCommand];
