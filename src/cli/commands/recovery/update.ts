import type { CommandModule } from 'yargs';
import { CairnError, rerunWorkstream, resetWorkstream, submitUpdate, updateTask, type ActionResult } from '../../../index.js';
import { common, type GlobalArgs, table } from '../../output.js';
import { type ActionArgs, perform, renderAction, type TaskArgs, taskFlags, withDryRun } from './common.js';

interface FieldChange { field: string; from: unknown; to: unknown }

/** `  command   "exit 1" -> "true"`, one line a field. */
export function definitionRows(changes: readonly FieldChange[], indent = '  '): string {
  return table(changes.map((c) => [`${indent}${c.field}`, JSON.stringify(c.from), '->', JSON.stringify(c.to)]));
}

interface UpdateArgs extends TaskArgs {
  command?: string;
  validate?: string;
  timeout?: number;
  'max-retries'?: number;
  env?: string[];
  cwd?: string;
  resources?: string;
}

export const updateTaskCommand: CommandModule<GlobalArgs, UpdateArgs> = {
  command: 'update-task',
  describe: 'Change the definition of a task that has not completed (one task_updated record with the old and the new definition); its next attempt uses it (a failed one after retry-task). A running task is refused: cancel-task first',
  builder: (y) => withDryRun(taskFlags(y))
    .option('command', { type: 'string', describe: 'the new command (run by /bin/sh -c)' })
    .option('validate', { type: 'string', describe: 'the new validate command; "" removes it' })
    .option('timeout', { type: 'number', describe: 'time limit per attempt, in seconds' })
    .option('max-retries', { type: 'number', describe: 'limit of automatic retries' })
    .option('env', { type: 'string', array: true, describe: 'set a variable for the task (repeatable): K=V, merged over its env' })
    .option('cwd', { type: 'string', describe: 'working directory; "" for none (cairn\'s own)' })
    .option('resources', { type: 'string', describe: 'the resources it takes, one unit each, comma-separated (replacing the old ones); "" for none' })
    .example('$0 update-task --task-id ws/build --command "make build" --dry-run', 'show the difference, field by field')
    .example('$0 update-task --task-id ws/build --command "make build" && $0 retry-task --task-id ws/build', 'fix a failed task\'s command and run it again') as never,
  handler: async (a) => {
    const changes = {
      command: a.command,
      validate: a.validate === undefined ? undefined : a.validate === '' ? null : a.validate,
      timeoutSeconds: a.timeout,
      maxRetries: a['max-retries'],
      env: a.env === undefined ? undefined : parsePairs('--env', a.env),
      cwd: a.cwd === undefined ? undefined : a.cwd === '' ? null : a.cwd,
      resources: a.resources === undefined ? undefined : a.resources.split(',').map((x) => x.trim()).filter((x) => x !== ''),
    };
    await perform(a, (dryRun) => updateTask({ ...common(a), task: a['task-id'], workstreamId: a['workstream-id'], dryRun, ...changes }),
      (r) => [renderAction(r), ...(r.definition.length ? [`definition of ${r.task}${r.dry_run ? ' (would change)' : ''}:`, definitionRows(r.definition)] : [])].join('\n'));
  },
};

interface WsArgs extends ActionArgs { 'workstream-id': string }
const wsFlag = <T>(y: import('yargs').Argv<T>) => y.option('workstream-id', { type: 'string', demandOption: true, describe: 'the workstream' });

interface RerunArgs extends WsArgs { param?: string[] }
export const rerunWorkstreamCommand: CommandModule<GlobalArgs, RerunArgs> = {
  command: 'rerun-workstream',
  describe: 'Submit a new workstream with the same tasks (as defined now) and params as W, named W-rerun-2 (then -3, …; a rerun of a rerun goes on counting); its record names W. W itself is not changed',
  builder: (y) => withDryRun(wsFlag(y))
    .option('param', { type: 'string', array: true, describe: 'override a param (repeatable): k=v' })
    .example('$0 rerun-workstream --workstream-id nightly --param channel=stable && $0 run', 'nightly-rerun-2, with channel=stable') as never,
  handler: async (a) => {
    const params = parsePairs('--param', a.param ?? []);
    await perform(a, (dryRun) => rerunWorkstream({ ...common(a), workstream: a['workstream-id'], params, dryRun }),
      (r) => `${renderAction(r)}${r.dry_run ? '' : `\nrun it with: cairn run`}`);
  },
};

export const resetWorkstreamCommand: CommandModule<GlobalArgs, WsArgs> = {
  command: 'reset-workstream',
  describe: 'Start a finished (completed, failed or cancelled) workstream over: every task pending, retry counts reset to 0; attempt numbers go on and earlier attempts stay in the log (asks for confirmation; --yes when stdin is not a terminal)',
  builder: (y) => withDryRun(wsFlag(y)).example('$0 reset-workstream --workstream-id nightly --yes && $0 run', 'run a finished workstream again under its own id') as never,
  handler: async (a) => {
    await perform(a, (dryRun) => resetWorkstream({ ...common(a), workstream: a['workstream-id'], dryRun }), renderAction,
      (p: ActionResult) => `Reset workstream ${a['workstream-id']} (${p.changes.filter((c) => c.field === 'state' && c.what.startsWith('task ')).length} task(s) change state)?`);
  },
};

/** k=v pairs of a repeatable flag. */
export function parsePairs(flag: string, list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list) {
    const i = p.indexOf('=');
    if (i <= 0) throw new CairnError('BAD_INPUT', `${flag} ${JSON.stringify(p)} is not k=v`, { hint: `e.g. ${flag} NAME=value` });
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

type UpdateResult = Awaited<ReturnType<typeof submitUpdate>>;

/** The human form of submit --update: the result, then the plan task by task. */
function renderSubmitUpdate(r: UpdateResult): string {
  const out = [renderAction(r), `tasks of ${r.workstream_id}:`];
  for (const t of r.plan.tasks) {
    out.push(`  ${t.change.padEnd(9)} ${t.task_id}${t.state ? ` (${t.state})` : ''}`);
    if (t.fields.length) out.push(definitionRows(t.fields, '      '));
  }
  if (r.plan.params) out.push(`params: ${JSON.stringify(r.plan.params.from)} -> ${JSON.stringify(r.plan.params.to)}`);
  if (r.plan.new_resources.length) out.push(`new resources: ${r.plan.new_resources.join(', ')}`);
  return out.join('\n');
}

/** `cairn submit --update spec.json [--dry-run]` (the submit command hands over to this). */
export async function submitUpdateCommand(a: ActionArgs & { spec: string }): Promise<void> {
  await perform(a, (dryRun) => submitUpdate({ ...common(a), spec: a.spec, dryRun }), renderSubmitUpdate);
}

export const UPDATE_COMMANDS = [updateTaskCommand, rerunWorkstreamCommand, resetWorkstreamCommand];
