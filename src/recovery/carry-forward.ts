import type { Decision } from '../model/decision.js';
import type { StateView } from '../model/state.js';
import { ACTIVE_TASK_STATES } from '../model/states.js';
import type { Task, Workstream } from '../model/types.js';

/**
 * The carry-forward part of repair_state (DESIGN §9), pure: when the log lost records, a newer
 * hash-valid derived file may still hold what was acknowledged. Each such workstream whose state
 * differs from the one the repaired log gives comes back as one `workstream_carried_forward`
 * record naming the file and every difference; the store found and checked the files.
 */

/** A workstream as a derived file holds it (current.json's form: the workstream with its tasks by id). */
export type CarriedDoc = Workstream & { tasks: Record<string, Task> };

export interface CarrySource {
  /** The file, relative to the state folder. */
  file: string;
  seq: number;
  workstream: CarriedDoc;
  /** max_holders of the resources the file knows (current.json's resources). */
  resources: Record<string, number | null>;
}

/** The fields of a running attempt, cleared when a task is carried back: its scheduler is gone. */
const RUN_FIELDS = ['worker_id', 'pid', 'pgid', 'process_start', 'scheduler_id', 'started_at', 'deadline'] as const;

/**
 * Emits a carried-forward record for every source whose workstream differs from the state; returns
 * one action line per record. Workstreams whose task ids differ from the state's are left alone and
 * said so (the file and the log disagree on what was submitted).
 */
export function carryForward(d: Decision, state: StateView, sources: readonly CarrySource[]): string[] {
  const lines: string[] = [];
  for (const src of sources) {
    const doc = src.workstream;
    const ours = state.workstream(doc.id);
    if (ours && (ours.task_ids.length !== doc.task_ids.length || ours.task_ids.some((t, i) => t !== doc.task_ids[i]))) {
      lines.push(`left workstream ${doc.id} as the log gives it: ${src.file} (seq ${src.seq}) lists other tasks`);
      continue;
    }
    const tasks: Record<string, Task> = {};
    const requeued: string[] = [];
    for (const tid of doc.task_ids) {
      const t = { ...doc.tasks[tid]! };
      if (ACTIVE_TASK_STATES.has(t.state)) {
        requeued.push(`task ${tid} was ${t.state} in ${src.file}: carried back as queued (its scheduler is gone; no retry spent)`);
        t.state = 'queued';
        for (const f of RUN_FIELDS) (t as Record<string, unknown>)[f] = null;
      }
      tasks[tid] = t;
    }
    const diffs = differences(state, ours, { ...doc, tasks });
    if (diffs.length === 0) continue;
    diffs.push(...requeued);
    const missing: Record<string, number | null> = {};
    for (const t of Object.values(tasks)) {
      for (const rid of Object.keys(t.resources)) {
        if (state.resource(rid) || rid in missing) continue;
        missing[rid] = rid in src.resources ? src.resources[rid]! : 1;
        diffs.push(`resource ${rid} declared again with max_holders ${String(missing[rid])}${rid in src.resources ? '' : ' (not in the file; the safest limit)'}`);
      }
    }
    d.emit({
      type: 'workstream_carried_forward', workstream_id: doc.id, source: src.file, source_seq: src.seq,
      workstream: { ...doc, tasks }, differences: diffs, ...(Object.keys(missing).length ? { resources: missing } : {}),
    });
    // What follows from the carried states (a task now ready, a workstream now finished) is settled
    // in the same decision, as after any other change of tasks.
    for (const tid of doc.task_ids) d.touch(doc.id, tid);
    lines.push(`carried workstream ${doc.id} forward from ${src.file} (seq ${src.seq}): ${diffs.join('; ')}`);
  }
  return lines;
}

function differences(state: StateView, ours: Workstream | undefined, doc: CarriedDoc): string[] {
  if (!ours) return [`workstream ${doc.id} (${doc.state}, ${doc.task_ids.length} task(s)) is missing from the log`];
  const out: string[] = [];
  if (ours.state !== doc.state) out.push(`workstream ${doc.id}: ${ours.state} in the log, ${doc.state} in the file`);
  for (const tid of doc.task_ids) {
    const a = state.task(doc.id, tid)!;
    const b = doc.tasks[tid]!;
    const parts: string[] = [];
    if (a.state !== b.state) parts.push(`${a.state} -> ${b.state}`);
    if (a.retry_count !== b.retry_count) parts.push(`retry_count ${a.retry_count} -> ${b.retry_count}`);
    if (a.attempt !== b.attempt) parts.push(`attempt ${a.attempt} -> ${b.attempt}`);
    if (parts.length) out.push(`task ${tid}: ${parts.join(', ')}`);
  }
  return out;
}
