import type { LogRecord } from '../model/types.js';
import { outcomeOf, recordPhrase } from './describe.js';

/**
 * The whole story of a task or a workstream, folded from its records in log order (DESIGN §10):
 * pure, one record at a time, so the caller streams the log and memory holds the story, never the
 * log. The store hands over the records that name the workstream plus the state-wide ones
 * (restores, repairs, lost records); this file decides which of those touched the subject.
 */

/** Records about the whole state folder, with no workstream named: shown when they fall inside the subject's life. */
export const STATE_WIDE_TYPES = ['state_restored', 'state_repaired', 'record_lost'] as const;
const STATE_WIDE: ReadonlySet<string> = new Set(STATE_WIDE_TYPES);

/** One event of a story: what the record says, with who decided it when an operator did. */
export interface StoryEvent {
  seq: number;
  ts: string;
  type: string;
  /** The task (`ws/task`) the record is about, null for the workstream or the whole state. */
  task: string | null;
  /** Index (1-based) into `attempts` of the attempt this happened in or after; null before the first. */
  attempt: number | null;
  text: string;
  operator: string | null;
  reason: string | null;
  /** The tool (retry_task, skip_task, …) when an operator decided it. */
  action: string | null;
  /** Where a merge carried the record in from (set by the merge driver), when it did. */
  rebased_from?: unknown;
}

/** One attempt of a task: from task_started to the record that ended it (null while it runs). */
export interface Attempt {
  attempt: number;
  worker_id: string | null;
  started_at: string;
  started_seq: number;
  ended_at: string | null;
  ended_seq: number | null;
  duration_ms: number | null;
  /** The record type that ended it: task_completed, task_attempt_failed, task_timed_out, … */
  end: string | null;
  outcome: string | null;
  exit_code: number | null;
  signal: string | null;
  message: string | null;
  /** Whether its validate command ran (task_validating), and how that went is `end`. */
  validated: boolean;
  /** When the next automatic attempt was due (a retry with backoff), when one was. */
  retry_at: string | null;
  backoff_ms: number | null;
}

export interface TaskStory {
  workstream_id: string;
  task_id: string;
  /** The task's state after its last record (null when the log never moved it). */
  state: string | null;
  first_seq: number | null;
  last_seq: number | null;
  attempts: Attempt[];
  events: StoryEvent[];
}

/** One task in a workstream's story: enough for a line; `history --task-id` has the rest. */
export interface TaskSummary {
  task_id: string;
  state: string;
  attempts: number;
  timeouts: number;
  /** Automatic retries scheduled (attempts that failed or timed out with retries left). */
  retries: number;
  interventions: number;
  last_seq: number | null;
  last_ts: string | null;
}

export interface WorkstreamStory {
  workstream_id: string;
  state: string | null;
  first_seq: number | null;
  last_seq: number | null;
  /** The workstream's own records, every operator action on it or its tasks, and state-wide records in its life. */
  events: StoryEvent[];
  tasks: TaskSummary[];
}

const ENDS_ATTEMPT: ReadonlySet<string> = new Set([
  'task_completed', 'task_attempt_failed', 'task_timed_out', 'task_failed', 'task_validation_failed', 'task_reassigned', 'task_cancelled', 'task_skipped',
]);

function event(r: LogRecord, attempt: number | null): StoryEvent {
  const e: StoryEvent = {
    seq: r.seq, ts: r.ts, type: r.type,
    task: typeof r.task_id === 'string' ? `${String(r.workstream_id)}/${r.task_id}` : null,
    attempt, text: recordPhrase(r), operator: r.operator ?? null, reason: r.reason ?? null,
    action: typeof r.action === 'string' ? r.action : null,
  };
  if (r.rebased_from !== undefined) e.rebased_from = r.rebased_from;
  return e;
}

/**
 * State-wide records are held until the subject's next record shows they fell inside its life;
 * those after its last record count only when they name it (a repair's actions, a lost record's text).
 */
class StateWide {
  private held: LogRecord[] = [];
  private readonly names: RegExp[];
  constructor(names: string[]) {
    // A whole id, not a part of a longer one ("w" must not match "w2").
    this.names = names.map((n) => new RegExp(`(^|[^A-Za-z0-9._/-])${n.replace(/[.]/g, '\\.')}($|[^A-Za-z0-9._-])`));
  }
  hold(r: LogRecord, started: boolean): void {
    if (started) this.held.push(r);
  }
  take(): LogRecord[] {
    const out = this.held;
    this.held = [];
    return out;
  }
  takeNaming(): LogRecord[] {
    return this.take().filter((r) => {
      const text = JSON.stringify(r);
      return this.names.some((n) => n.test(text));
    });
  }
}

/** Folds a task's story from the records of its workstream and the state-wide ones, in log order. */
export class TaskStoryBuilder {
  private readonly story: TaskStory;
  private readonly wide: StateWide;
  private open: Attempt | null = null;

  constructor(workstreamId: string, taskId: string) {
    this.story = { workstream_id: workstreamId, task_id: taskId, state: null, first_seq: null, last_seq: null, attempts: [], events: [] };
    this.wide = new StateWide([`${workstreamId}/${taskId}`]);
  }

  add(r: LogRecord): void {
    const s = this.story;
    if (STATE_WIDE.has(r.type)) return this.wide.hold(r, s.first_seq !== null);
    if (r.workstream_id !== s.workstream_id) return;
    if (r.task_id !== undefined && r.task_id !== s.task_id) return;
    for (const w of this.wide.take()) this.push(w);
    s.first_seq ??= r.seq;
    s.last_seq = r.seq;
    if (r.task_id === undefined) {
      if (r.type === 'workstream_submitted') s.state ??= 'pending';
      if (r.type === 'workstream_carried_forward') this.carried(r);
      return this.push(r);
    }
    if (typeof r.to === 'string') s.state = r.to;
    if (r.type === 'task_started') this.start(r);
    this.push(r);
    if (r.type === 'task_validating' && this.open) this.open.validated = true;
    if (ENDS_ATTEMPT.has(r.type) && this.open && (r.from === 'running' || r.from === 'validating')) this.end(r);
  }

  finish(): TaskStory {
    for (const w of this.wide.takeNaming()) this.push(w);
    return this.story;
  }

  private push(r: LogRecord): void {
    this.story.events.push(event(r, this.story.attempts.length > 0 ? this.story.attempts.length : null));
  }

  private carried(r: LogRecord): void {
    const t = (r.workstream as { tasks?: Record<string, { state?: unknown }> } | undefined)?.tasks?.[this.story.task_id];
    if (t && typeof t.state === 'string') this.story.state = t.state;
  }

  private start(r: LogRecord): void {
    this.open = {
      attempt: typeof r.attempt === 'number' ? r.attempt : this.story.attempts.length + 1,
      worker_id: typeof r.worker_id === 'string' ? r.worker_id : null,
      started_at: r.ts, started_seq: r.seq, ended_at: null, ended_seq: null, duration_ms: null, end: null,
      outcome: null, exit_code: null, signal: null, message: null, validated: false, retry_at: null, backoff_ms: null,
    };
    this.story.attempts.push(this.open);
  }

  private end(r: LogRecord): void {
    const a = this.open!;
    this.open = null;
    const o = outcomeOf(r);
    a.ended_at = r.ts;
    a.ended_seq = r.seq;
    a.end = r.type;
    a.duration_ms = o?.duration_ms ?? Math.max(0, Date.parse(r.ts) - Date.parse(a.started_at));
    if (o) Object.assign(a, { outcome: o.kind, exit_code: o.exit_code, signal: o.signal, message: o.message });
    else if (r.type === 'task_completed') Object.assign(a, { outcome: 'exit', exit_code: 0 });
    if (typeof r.retry_at === 'string') {
      a.retry_at = r.retry_at;
      a.backoff_ms = Date.parse(r.retry_at) - Date.parse(r.ts);
    }
  }
}

/** Folds a workstream's story: its lifecycle, every intervention on it, and one summary a task. */
export class WorkstreamStoryBuilder {
  private readonly story: WorkstreamStory;
  private readonly tasks = new Map<string, TaskSummary>();
  private readonly wide: StateWide;

  constructor(workstreamId: string) {
    this.story = { workstream_id: workstreamId, state: null, first_seq: null, last_seq: null, events: [], tasks: [] };
    this.wide = new StateWide([workstreamId]);
  }

  add(r: LogRecord): void {
    const s = this.story;
    if (STATE_WIDE.has(r.type)) return this.wide.hold(r, s.first_seq !== null);
    if (r.workstream_id !== s.workstream_id) return;
    for (const w of this.wide.take()) s.events.push(event(w, null));
    s.first_seq ??= r.seq;
    s.last_seq = r.seq;
    if (r.task_id === undefined) {
      if (typeof r.to === 'string') s.state = r.to;
      if (r.type === 'workstream_submitted') for (const t of (r.spec as { tasks?: { id: string }[] } | undefined)?.tasks ?? []) this.task(t.id);
      if (r.type === 'workstream_carried_forward') this.carried(r);
      s.events.push(event(r, null));
      return;
    }
    const t = this.task(String(r.task_id));
    if (typeof r.to === 'string') t.state = r.to;
    t.last_seq = r.seq;
    t.last_ts = r.ts;
    if (r.type === 'task_started') t.attempts++;
    if (r.type === 'task_timed_out' || (r.type === 'task_failed' && outcomeOf(r)?.kind === 'timeout')) t.timeouts++;
    if (r.type === 'task_attempt_failed' || r.type === 'task_timed_out') t.retries++;
    // An operator's tool (it names its action); a submission names its operator too but is none.
    if (r.operator && typeof r.action === 'string') {
      t.interventions++;
      s.events.push(event(r, null));
    }
  }

  finish(): WorkstreamStory {
    for (const w of this.wide.takeNaming()) this.story.events.push(event(w, null));
    this.story.tasks = [...this.tasks.values()];
    return this.story;
  }

  private task(id: string): TaskSummary {
    let t = this.tasks.get(id);
    if (!t) {
      t = { task_id: id, state: 'pending', attempts: 0, timeouts: 0, retries: 0, interventions: 0, last_seq: null, last_ts: null };
      this.tasks.set(id, t);
    }
    return t;
  }

  private carried(r: LogRecord): void {
    const ws = r.workstream as { state?: unknown; tasks?: Record<string, { state?: unknown }> } | undefined;
    if (typeof ws?.state === 'string') this.story.state = ws.state;
    for (const [id, t] of Object.entries(ws?.tasks ?? {})) if (typeof t.state === 'string') this.task(id).state = t.state;
  }
}
