import type { CommandModule } from 'yargs';
import { type AttemptWithLog, historyStartLine, readHistory, type StoryEvent, type TaskHistory, type WorkstreamHistory } from '../../index.js';
import { common, emit, type GlobalArgs, table } from '../output.js';
import { ReadProgress } from '../read-progress.js';

interface HistoryArgs extends GlobalArgs { 'task-id'?: string; 'workstream-id'?: string }

/** `cairn history`: a task's or a workstream's whole story, read from the log (DESIGN §10). */
export const historyCommand: CommandModule<GlobalArgs, HistoryArgs> = {
  command: 'history',
  describe: 'The whole story of a task or a workstream, from the log: attempts, retries, timeouts, interventions, rollbacks',
  builder: (y) => y
    .option('task-id', { type: 'string', describe: 'a task: <workstream>/<task>, or a bare task id when unambiguous (also one archived or gone from the state)' })
    .option('workstream-id', { type: 'string', describe: 'a workstream: its lifecycle, every intervention and one line a task' })
    .example('$0 history --task-id nightly/build', 'every attempt of build with worker, duration, exit and log file')
    .example('$0 history --workstream-id nightly --json', 'the workstream\'s story as one JSON document')
    .epilogue('Exit codes: 0 shown; 2 no such task or workstream (the closest known ids are named), or neither flag given.') as never,
  handler: async (a) => {
    const progress = a.json ? null : ReadProgress.start();
    let h: TaskHistory | WorkstreamHistory;
    try {
      h = await readHistory({
        ...common(a), task: a['task-id'], workstreamId: a['workstream-id'],
        onProgress: progress ? (d, t) => progress.update('reading the log', d, t) : undefined,
      });
    } finally {
      progress?.end(); // erased before the answer is printed
    }
    emit(a, h, () => (h.kind === 'task' ? taskText(h) : workstreamText(h)) + (h.history_starts_at ? `\n${historyStartLine(h.history_starts_at)}` : ''));
  },
};

function span(first: number | null, last: number | null): string {
  return first === null ? 'no records' : first === last ? `seq ${first}` : `seq ${first}-${String(last)}`;
}

function eventLine(e: StoryEvent, ws: string, own: string | null): string {
  const who = e.task !== null ? (e.task === own ? '' : `${e.task} `) : e.type.startsWith('workstream_') ? `workstream ${ws} ` : '';
  const by = e.operator ? ` [${e.action ? `${e.action.replace(/_/g, '-')} ` : ''}by ${e.operator}${e.reason ? `: "${e.reason}"` : ''}]` : '';
  const rebased = e.rebased_from === undefined ? '' : ` (rebased from ${JSON.stringify(e.rebased_from)})`;
  return `  ${`seq ${e.seq}`.padEnd(10)} ${e.ts.slice(11, 23)}  ${who}${e.text}${by}${rebased}`;
}

function attemptHeader(a: AttemptWithLog): string {
  const how = a.end === null ? `running since ${a.started_at}` : `${outcome(a)}, ${String(a.duration_ms)} ms, ${a.started_at} to ${String(a.ended_at).slice(11, 23)}`;
  return `attempt ${a.attempt} on ${a.worker_id ?? '?'}: ${how}; log ${a.log_file}${a.log_exists ? '' : ' (not on disk)'}`;
}

function outcome(a: AttemptWithLog): string {
  const what = a.outcome === 'exit' ? `exit ${String(a.exit_code)}` : a.outcome === 'timeout' ? 'timed out' : a.outcome === 'signal' ? `killed by ${String(a.signal)}` : a.outcome ?? a.end ?? '';
  const end = a.end === 'task_reassigned' ? ' (requeued, no retry spent)' : a.end === 'task_cancelled' ? ' (cancelled)' : a.end === 'task_validation_failed' ? ' (validation failed)' : a.validated ? ' (validated)' : '';
  return what + end;
}

function taskText(h: TaskHistory): string {
  const ref = `${h.workstream_id}/${h.task_id}`;
  const out = [`task ${ref}: ${h.state ?? 'never moved'}, ${h.attempts.length} attempt${h.attempts.length === 1 ? '' : 's'} (${span(h.first_seq, h.last_seq)})`];
  let group: number | null = null;
  for (const e of h.events) {
    if (e.attempt !== group && e.attempt !== null) {
      group = e.attempt;
      out.push(attemptHeader(h.attempts[e.attempt - 1]!));
    }
    out.push(eventLine(e, h.workstream_id, ref));
  }
  return out.join('\n');
}

function workstreamText(h: WorkstreamHistory): string {
  const out = [`workstream ${h.workstream_id}: ${h.state ?? '?'} (${span(h.first_seq, h.last_seq)})`];
  for (const e of h.events) out.push(eventLine(e, h.workstream_id, null));
  if (h.tasks.length > 0) {
    out.push(`tasks (cairn history --task-id ${h.workstream_id}/<task> tells each one's story):`);
    const n = (k: number, one: string, many: string) => (k === 0 ? '' : `${k} ${k === 1 ? one : many}`);
    out.push(table(h.tasks.map((t) => ['  ' + t.task_id, t.state, `${t.attempts} attempt${t.attempts === 1 ? '' : 's'}`, n(t.retries, 'retry', 'retries'), n(t.timeouts, 'timeout', 'timeouts'), n(t.interventions, 'intervention', 'interventions'), t.last_seq === null ? '' : `last seq ${t.last_seq}`])).trimEnd());
  }
  return out.join('\n');
}
