import * as path from 'node:path';
import { CairnError } from '../errors.js';
import type { LogRecord } from '../model/types.js';
import type { ToolName } from '../recovery/common.js';
import { commitStateFolder } from '../runner/git-commit.js';

/**
 * git_commit (config.json, off by default): every intervention commits the state folder once its
 * records are durable, so recoveries can be read and bisected with git. The one place interventions
 * come through on their way out (runAction, restore-state, repair-state) calls commitIntervention.
 */

/** What --json shows of the commit (present only when git_commit is on). */
export interface GitCommitInfo {
  committed: boolean;
  /** The commit made, or null. */
  sha: string | null;
  /** The commit message's first line. */
  subject: string;
  /** Why no commit was made (also a warning), or null. */
  reason: string | null;
}

export type InterventionTool = ToolName | 'restore_state';

/** What each tool did, as the subject says it; the first record of the decision gives the details. */
const DID: Record<InterventionTool, (r: LogRecord) => string> = {
  retry_task: () => 'retried',
  skip_task: () => 'skipped',
  cancel_task: () => 'cancelled',
  retry_workstream: () => 'retried',
  retry_failed_tasks: () => 'failed tasks retried',
  resume_workstream: () => 'resumed',
  rollback_workstream: () => 'rolled back',
  restart_worker: () => 'restart requested',
  force_shutdown_worker: () => 'shutdown requested',
  set_resource_limit: (r) => `max_holders set to ${r.max_holders === null ? 'unlimited' : String(r.max_holders)}`,
  remove_dependency: (r) => `dependency on ${String(r.dependency_id)} removed`,
  repair_state: () => 'repaired',
  restore_state: (r) => `restored from ${String(r.file ?? r.source)}`,
  update_task: (r) => `definition changed (${Array.isArray(r.fields) ? r.fields.join(', ') : 'fields'})`,
  submit_update: () => 'spec updated',
  rerun_workstream: (r) => `rerun of ${String(r.rerun_of ?? r.workstream_id)}`,
  reset_workstream: () => 'reset to pending',
  checkpoint: (r) => `checkpoint ${String(r.checkpoint_seq)} named ${String(r.name)}`,
  system_checkpoint_create: (r) => `system checkpoint ${String(r.name)} at seq ${String(r.checkpoint_seq)}`,
  system_checkpoint_restore: (r) => `restored to system checkpoint ${String(r.name)} (seq ${String(r.checkpoint_seq)})`,
};

/** Tools whose command line is not their name with dashes. */
const VERB: Partial<Record<InterventionTool, string>> = {
  submit_update: 'submit --update',
  system_checkpoint_create: 'system-checkpoint create',
  system_checkpoint_restore: 'system-checkpoint restore',
};

const SYSTEM_TOOLS: ReadonlySet<InterventionTool> = new Set(['system_checkpoint_create', 'system_checkpoint_restore']);

const TASK_TOOLS: ReadonlySet<InterventionTool> = new Set(['retry_task', 'skip_task', 'cancel_task', 'remove_dependency', 'update_task']);

/** The entity a record is about, as the CLI names it. */
function target(r: LogRecord): string | null {
  if (typeof r.task_id === 'string') return `${String(r.workstream_id)}/${r.task_id}`;
  if (typeof r.workstream_id === 'string') return r.workstream_id;
  if (typeof r.worker_id === 'string') return `worker ${r.worker_id}`;
  if (typeof r.resource_id === 'string') return `resource ${r.resource_id}`;
  return null;
}

/** `cairn skip-task build/lint: skipped by alice — flaky linter`, then the seq range and the records in the body. */
export function interventionMessage(tool: InterventionTool, records: readonly LogRecord[], stateDir: string): string {
  const first = records[0]!;
  const last = records[records.length - 1]!;
  const main = (tool === 'rollback_workstream' ? records.find((r) => r.type === 'workstream_rolled_back') : undefined) ?? first;
  const what = tool === 'rollback_workstream' ? `rolled back to checkpoint ${String(main.checkpoint_seq)}` : DID[tool](main);
  // A task tool names its task even when the decision opens by reopening the workstream.
  const about = TASK_TOOLS.has(tool) ? records.filter((r) => typeof r.task_id === 'string') : [];
  // A system checkpoint is about the whole state folder, not the first workstream it touches.
  const on = (SYSTEM_TOOLS.has(tool) ? null : [...about, ...records].map(target).find((t) => t !== null)) ?? path.basename(stateDir);
  const reason = typeof first.reason === 'string' && first.reason !== '' ? ` — ${first.reason}` : '';
  // submit --update is a flag of submit, and system-checkpoint takes its action as a subcommand.
  const verb = VERB[tool] ?? tool.replace(/_/g, '-');
  const subject = `cairn ${verb} ${on}: ${what} by ${first.operator ?? 'cairn'}${reason}`;
  const range = first.seq === last.seq ? `${first.seq}` : `${first.seq}-${last.seq}`;
  const shown = records.slice(0, 50).map((r) => `  ${r.seq} ${r.type}${target(r) ? ` ${target(r)}` : ''}${r.from !== undefined || r.to !== undefined ? ` ${String(r.from ?? '')} -> ${String(r.to ?? '')}` : ''}`);
  return [
    subject, '',
    `tool: ${tool}`, `operator: ${first.operator ?? 'cairn'}`, `reason: ${first.reason ?? ''}`, `seq: ${range} (${records.length} record(s))`, '',
    ...shown, ...(records.length > 50 ? [`  … and ${records.length - 50} more`] : []), '',
  ].join('\n');
}

/**
 * Commits the state folder after an intervention when `enabled` (config git_commit). Returns null
 * when it is off or nothing was recorded; otherwise what happened, and on failure pushes a warning:
 * the intervention stands either way (it is in the log), only the commit is missing.
 */
export function commitIntervention(enabled: boolean, stateDir: string, tool: InterventionTool, records: readonly LogRecord[], warnings: string[]): GitCommitInfo | null {
  if (!enabled || records.length === 0) return null;
  const message = interventionMessage(tool, records, stateDir);
  const subject = message.split('\n')[0]!;
  let reason: string;
  try {
    const c = commitStateFolder(stateDir, message);
    if (c.committed) return { committed: true, sha: c.sha, subject, reason: null };
    reason = c.reason;
  } catch (e) {
    reason = e instanceof CairnError ? `${e.message} (${e.hint ?? ''})` : (e as Error).message;
  }
  warnings.push(`git_commit: the state folder was not committed: ${reason}; the ${tool.replace(/_/g, '-')} itself is recorded in the log`);
  return { committed: false, sha: null, subject, reason };
}
