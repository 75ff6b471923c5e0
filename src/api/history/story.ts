import * as path from 'node:path';
import { CairnError } from '../../errors.js';
import { type Attempt, STATE_WIDE_TYPES, type TaskStory, TaskStoryBuilder, type WorkstreamStory, WorkstreamStoryBuilder } from '../../history/story.js';
import { closest, resolveTask } from '../../model/resolve.js';
import { realFs } from '../../store/fsio.js';
import { streamStory, submittedTasks } from '../../store/history-read.js';
import { type HistoryStart, historyStart, logStart } from '../../store/log-base.js';
import { StatePaths } from '../../store/paths.js';
import { checkRoot } from '../../store/store.js';
import { type CommonOptions, stateDirOf, withStore } from '../common.js';

/** An attempt with the task log the run wrote for it (`logs/<ws>/<task>.<attempt>.log`, relative to the state folder). */
export interface AttemptWithLog extends Attempt {
  log_file: string;
  /** Whether that file is there now (logs/ is git-ignored, so a clone has none). */
  log_exists: boolean;
}

export interface TaskHistory extends Omit<TaskStory, 'attempts'> {
  kind: 'task';
  attempts: AttemptWithLog[];
  /** Where the log's history starts when older segments were moved out (log-archive), else null. */
  history_starts_at: HistoryStart | null;
}

export interface WorkstreamHistory extends WorkstreamStory {
  kind: 'workstream';
  history_starts_at: HistoryStart | null;
}

export interface HistoryQuery {
  /** `<workstream>/<task>`, or a bare task id (unambiguous, or with workstreamId). */
  task?: string;
  workstreamId?: string;
  /** Bytes of the log read so far, for a progress line on long reads. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The whole story of a task (every attempt with worker, times, exit and log file, the backoffs,
 * timeouts, interventions, rollbacks, restores and repairs that touched it) or of a workstream (its
 * lifecycle, every intervention, one summary a task), read from the log in one streamed pass. Ids
 * are resolved against the state, then against every workstream the log ever had, so a task whose
 * workstream is archived or gone still has its history; an unknown one is UNKNOWN_TASK or
 * UNKNOWN_WORKSTREAM (exit 2) naming the closest known ones.
 */
export async function readHistory(o: CommonOptions & HistoryQuery): Promise<TaskHistory | WorkstreamHistory> {
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  checkRoot(io, root);
  const paths = new StatePaths(root);
  if (o.task === undefined && o.workstreamId === undefined) {
    throw new CairnError('BAD_INPUT', 'history needs --task-id or --workstream-id', { hint: 'For example: cairn history --task-id nightly/build, or cairn history --workstream-id nightly' });
  }
  const subject = await resolveSubject(o, paths);
  // Old segments moved out: the story is what the log holds after the base, and says so.
  const history_starts_at = historyStart(logStart(io, paths.log).base);
  if (subject.task === undefined) {
    const b = new WorkstreamStoryBuilder(subject.ws);
    await streamStory(io, paths.log, { workstreamId: subject.ws, alsoTypes: STATE_WIDE_TYPES }, (r) => b.add(r), o.onProgress);
    return { kind: 'workstream', ...b.finish(), history_starts_at };
  }
  const b = new TaskStoryBuilder(subject.ws, subject.task);
  await streamStory(io, paths.log, { workstreamId: subject.ws, taskId: subject.task, alsoTypes: STATE_WIDE_TYPES }, (r) => b.add(r), o.onProgress);
  const story = b.finish();
  const attempts = story.attempts.map((a) => {
    const file = paths.taskLog(subject.ws, subject.task!, a.attempt);
    return { ...a, log_file: path.relative(root, file), log_exists: io.lstatSync(file)?.isFile() === true };
  });
  return { kind: 'task', ...story, attempts, history_starts_at };
}

/** The workstream (and task) named, as the state has it, else as the log ever had it. */
async function resolveSubject(o: CommonOptions & HistoryQuery, paths: StatePaths): Promise<{ ws: string; task?: string }> {
  const io = o.fs ?? realFs;
  const fromState = await withStore(o, { readOnly: true }, async (store) => {
    const s = store.state;
    if (o.task === undefined) return s.workstream(o.workstreamId!) ? { ws: o.workstreamId! } : null;
    try {
      const t = resolveTask(s, o.task, o.workstreamId);
      return { ws: t.workstream_id, task: t.id };
    } catch (e) {
      if (e instanceof CairnError && (e.code === 'UNKNOWN_TASK' || e.code === 'UNKNOWN_WORKSTREAM')) return null;
      throw e;
    }
  });
  if (fromState) return fromState;
  // Not in the state now: the log still has every workstream it was ever given.
  const ever = await submittedTasks(io, paths.log);
  if (o.task === undefined) {
    if (ever.has(o.workstreamId!)) return { ws: o.workstreamId! };
    const near = closest(o.workstreamId!, ever.keys());
    throw new CairnError('UNKNOWN_WORKSTREAM', `no workstream ${JSON.stringify(o.workstreamId)} in the log`, {
      details: { workstream_id: o.workstreamId, closest: near },
      hint: near.length > 0 ? `Did you mean: ${near.join(', ')}?` : 'The log has no workstream yet: cairn submit <spec.json>',
    });
  }
  const slash = o.task.indexOf('/');
  const wsWanted = slash >= 0 ? o.task.slice(0, slash) : o.workstreamId;
  const taskId = slash >= 0 ? o.task.slice(slash + 1) : o.task;
  const found = [...ever].filter(([ws, tasks]) => (wsWanted === undefined || ws === wsWanted) && tasks.includes(taskId)).map(([ws]) => ws);
  if (found.length === 1) return { ws: found[0]!, task: taskId };
  if (found.length > 1) {
    const candidates = found.map((ws) => `${ws}/${taskId}`).sort();
    throw new CairnError('AMBIGUOUS_TASK', `task id ${JSON.stringify(taskId)} was in ${found.length} workstreams`, { details: { task_id: taskId, candidates }, hint: `Name one of: ${candidates.join(', ')}` });
  }
  const known = [...ever].flatMap(([ws, tasks]) => tasks.map((t) => `${ws}/${t}`));
  const near = closest(slash >= 0 || wsWanted !== undefined ? `${wsWanted}/${taskId}` : taskId, slash >= 0 || wsWanted !== undefined ? known : known.map((k) => k.slice(k.indexOf('/') + 1)));
  const named = slash >= 0 || wsWanted !== undefined ? near : near.flatMap((n) => known.filter((k) => k.endsWith(`/${n}`)).slice(0, 1));
  throw new CairnError('UNKNOWN_TASK', `no task ${JSON.stringify(o.task)} in the log`, {
    details: { task: o.task, closest: named },
    hint: named.length > 0 ? `Did you mean: ${named.join(', ')}?` : 'Run: cairn status to list tasks',
  });
}
