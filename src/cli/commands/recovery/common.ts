import type { Argv } from 'yargs';
import type { ActionResult, Change, RecordView } from '../../../index.js';
import { confirm } from '../../confirm.js';
import { emit, type GlobalArgs, table, warn } from '../../output.js';

/** Flags of every state-changing recovery command. */
export interface ActionArgs extends GlobalArgs {
  'dry-run'?: boolean;
}

export function withDryRun<T>(y: Argv<T>): Argv<T> {
  return y.option('dry-run', { type: 'boolean', describe: 'Show exactly the records and changes it would make; write nothing' }) as Argv<T>;
}

export interface TaskArgs extends ActionArgs {
  'task-id': string;
  'workstream-id'?: string;
}

export function taskFlags<T>(y: Argv<T>): Argv<T> {
  return y
    .option('task-id', { type: 'string', demandOption: true, describe: '<workstream>/<task>, or a bare task id when unambiguous' })
    .option('workstream-id', { type: 'string', describe: 'the workstream of a bare task id' }) as Argv<T>;
}

/** One line per record: seq, type, entity, from -> to, trigger. */
export function recordRows(records: readonly RecordView[]): string {
  return table(records.map((r) => [
    `  ${r.seq}`, r.type,
    entity(r),
    r.from !== undefined || r.to !== undefined ? `${String(r.from ?? '')} -> ${String(r.to ?? '')}` : extra(r),
    r.trigger !== undefined ? `(${String(r.trigger)})` : '',
  ]));
}

function entity(r: RecordView): string {
  if (r.task_id !== undefined) return `${String(r.workstream_id)}/${String(r.task_id)}`;
  if (r.workstream_id !== undefined) return String(r.workstream_id);
  if (r.worker_id !== undefined) return `worker ${String(r.worker_id)}`;
  if (r.resource_id !== undefined) return `resource ${String(r.resource_id)}`;
  return '';
}

function extra(r: RecordView): string {
  if (r.type === 'resource_limit_changed') return `max_holders ${r.max_holders === null ? 'unlimited' : String(r.max_holders)}`;
  if (r.type === 'task_dependency_removed') return `no longer depends on ${String(r.dependency_id)}`;
  if (r.type === 'task_updated') return `new ${(r.fields as string[]).join(', ')}`;
  if (r.type === 'task_added') return 'added (pending)';
  if (r.type === 'workstream_rolled_back') return `to checkpoint ${String(r.checkpoint_seq)}`;
  if (r.type === 'checkpoint_named' || r.type === 'system_checkpoint_created' || r.type === 'system_checkpoint_restored') return `${String(r.name)} = seq ${String(r.checkpoint_seq)}`;
  if (r.type === 'worker_shutdown_requested') return r.reassign ? 'reassign its task' : 'do not reassign';
  if (r.type === 'state_repaired') return `${(r.actions as string[]).length} action(s)`;
  return '';
}

export function changeRows(changes: readonly Change[]): string {
  return table(changes.map((c) => [`  ${c.what}`, c.field, JSON.stringify(c.from), '->', JSON.stringify(c.to)]));
}

/** The human form of an action's result. */
export function renderAction(r: ActionResult): string {
  const out = [r.message];
  if (r.records.length > 0) {
    const first = r.records[0]!.seq;
    const last = r.records[r.records.length - 1]!.seq;
    out.push(r.dry_run ? `would append ${r.records.length} record(s) (seq ${first}-${last}):` : `appended ${r.records.length} record(s) (seq ${first}-${last}):`, recordRows(r.records));
    if (r.dry_run && r.changes.length > 0) out.push('changes:', changeRows(r.changes));
  }
  if (r.killed.length) out.push(`killed the processes a dead scheduler left for: ${r.killed.join(', ')}`);
  if (r.dry_run && r.changed) out.push('(dry run: nothing was written)');
  if (r.next.length) out.push(`no scheduler runs: start one to carry on: ${r.next.join('; ')}`);
  if (r.git_commit?.committed) out.push(`committed the state folder to git: ${r.git_commit.sha!.slice(0, 12)} ${r.git_commit.subject}`);
  return out.join('\n');
}

/**
 * Runs a state-changing verb as DESIGN §6 says: --dry-run only shows; a destructive one shows its
 * plan and asks (or needs --yes off a terminal) before doing it; nothing changes when not confirmed.
 */
export async function perform<R extends { changed: boolean; warnings: string[] }>(
  a: ActionArgs,
  call: (dryRun: boolean) => Promise<R>,
  render: (r: R) => string,
  destructive?: (preview: R) => string,
): Promise<R> {
  if (a['dry-run']) {
    const r = await call(true);
    warn(r.warnings);
    emit(a, r, () => render(r));
    return r;
  }
  if (destructive) {
    const p = await call(true);
    if (p.changed) {
      if (!a.json && !a.yes) process.stderr.write(render(p) + '\n');
      await confirm(a.yes, destructive(p));
    }
  }
  const r = await call(false);
  warn(r.warnings);
  emit(a, r, () => render(r));
  return r;
}
