import type { CommandModule } from 'yargs';
import { cancelTask, debugTask, retryTask, skipTask } from '../../../index.js';
import { common, emit, type GlobalArgs, warn } from '../../output.js';
import { perform, renderAction, type TaskArgs, taskFlags, withDryRun } from './common.js';

const target = (a: TaskArgs) => ({ ...common(a), task: a['task-id'], workstreamId: a['workstream-id'] });

interface RetryArgs extends TaskArgs { timeout?: number; 'max-retries'?: number; 'reset-retries'?: boolean }
export const retryTaskCommand: CommandModule<GlobalArgs, RetryArgs> = {
  command: 'retry-task',
  describe: 'Send a task back to pending (reopening a failed workstream), optionally with a new timeout or retry limit',
  builder: (y) => withDryRun(taskFlags(y))
    .option('timeout', { type: 'number', describe: 'new time limit per attempt, in seconds' })
    .option('max-retries', { type: 'number', describe: 'new limit of automatic retries' })
    .option('reset-retries', { type: 'boolean', describe: 'start over with retry_count 0 (a fresh retry budget)' })
    .example('$0 retry-task --task-id ws/build --timeout 1200', 'more time for a task that timed out') as never,
  handler: async (a) => {
    await perform(a, (dryRun) => retryTask({ ...target(a), dryRun, timeoutSeconds: a.timeout, maxRetries: a['max-retries'], resetRetries: a['reset-retries'] }), renderAction);
  },
};

export const skipTaskCommand: CommandModule<GlobalArgs, TaskArgs> = {
  command: 'skip-task',
  describe: 'Mark a task skipped so its dependents proceed (asks for confirmation; needs --reason)',
  builder: (y) => withDryRun(taskFlags(y)).demandOption('reason', 'say why it is safe to skip the task')
    .example('$0 skip-task --task-id ws/lint --reason "lint is advisory" --yes', '') as never,
  handler: async (a) => {
    await perform(a, (dryRun) => skipTask({ ...target(a), dryRun }), renderAction, () => `Skip task ${a['task-id']}?`);
  },
};

interface CancelArgs extends TaskArgs { cascade?: boolean }
export const cancelTaskCommand: CommandModule<GlobalArgs, CancelArgs> = {
  command: 'cancel-task',
  describe: 'Cancel a task (a running one is killed); its dependents proceed, or are cancelled too with --cascade (asks for confirmation)',
  builder: (y) => withDryRun(taskFlags(y))
    .option('cascade', { type: 'boolean', describe: 'also cancel every task that depends on it, directly or not' }) as never,
  handler: async (a) => {
    await perform(a, (dryRun) => cancelTask({ ...target(a), dryRun, cascade: a.cascade }), renderAction,
      a.cascade ? (p) => `Cancel task ${a['task-id']} and ${p.records.filter((r) => r.trigger === 'cascade').length} dependent task(s)?` : undefined);
  },
};

interface DebugArgs extends TaskArgs { interactive?: boolean; validate?: boolean }
export const debugTaskCommand: CommandModule<GlobalArgs, DebugArgs> = {
  command: 'debug-task',
  describe: 'Run a task\'s command once in the foreground with the environment its next attempt would get; changes no state',
  builder: (y) => taskFlags(y)
    .option('interactive', { type: 'boolean', describe: 'give the command this terminal\'s stdin (and Ctrl-C)' })
    .option('validate', { type: 'boolean', describe: 'then run its validate command too, if the command succeeds' }) as never,
  handler: async (a) => {
    const r = await debugTask({
      ...target(a), interactive: a.interactive, validate: a.validate, stdout: a.json ? 'stderr' : 'stdout',
      onStart: (h) => {
        warn(h.warnings);
        if (!a.json) process.stderr.write(`debug-task ${h.task} (${h.state}): ${JSON.stringify(h.command)}${h.cwd ? ` in ${h.cwd}` : ''}\n  env: ${Object.entries(h.env).map(([k, v]) => `${k}=${v}`).join(' ')}\n--- output ---\n`);
      },
    });
    const how = (x: { exit_code: number | null; signal: string | null; spawn_error: string | null }) => x.spawn_error ?? (x.signal ? `killed by ${x.signal}` : `exit code ${x.exit_code}`);
    emit(a, r, () => `--- ${r.task}: ${how(r)} after ${r.duration_ms} ms${r.validate ? `; validate: ${how(r.validate)}` : ''} (nothing was recorded)`);
    if (!r.ok) process.exitCode = 1;
  },
};

export const TASK_COMMANDS = [retryTaskCommand, skipTaskCommand, cancelTaskCommand, debugTaskCommand];
