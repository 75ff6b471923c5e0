import type { CommandModule } from 'yargs';
import { diff, type DiffResult, type PointHeader, stateAt } from '../../index.js';
import { common, emit, type GlobalArgs, table, warn } from '../output.js';
import { renderStatus } from '../render.js';

const POINTS = 'a point is a seq (1234), an ISO 8601 date-time (2026-12-06T10:00:00Z), git:<rev> (git:HEAD~1, git:main) or now';

/** "seq 40 (2026-12-06T10:00:00.000Z)", with the commit for a git point. */
export function pointLine(h: PointHeader): string {
  const where = h.kind === 'seq' && h.point === String(h.seq) ? `seq ${h.seq}` : `${h.point} = seq ${h.seq}`;
  const commit = h.commit ? `, commit ${h.commit.slice(0, 12)}${h.prefix ? '' : ', a history of its own'}` : '';
  return `${where} (${h.ts ?? 'before the first record'}${commit})`;
}

interface StateArgs extends GlobalArgs { at: string; 'workstream-id'?: string; all?: boolean }
export const stateCommand: CommandModule<GlobalArgs, StateArgs> = {
  command: 'state',
  describe: 'Show the state as cairn status showed it at a point in the past (a seq, a time, git:<rev>)',
  builder: (y) => y
    .option('at', { type: 'string', demandOption: true, describe: `the point: ${POINTS}` })
    .option('workstream-id', { type: 'string', describe: 'only this workstream (one finished by then too)' })
    .option('all', { type: 'boolean', describe: 'include workstreams finished by then in full' })
    .epilogue('Exit codes: 0 shown; 2 an unknown point (the message says what the log holds) or bad flags; 3 the log is damaged before the point.\n'
      + 'Whole-state snapshots in .state/snapshots/ (a git-ignored cache) keep any point a short replay away; they are written as needed.') as never,
  handler: async (a) => {
    const s = await stateAt({ ...common(a), at: a.at, workstreamId: a['workstream-id'], all: a.all });
    warn(s.warnings);
    // Elapsed times of running tasks as of the point, not as of today.
    emit(a, s, () => `as of ${pointLine(s.at)}\n${renderStatus(s, s.at.ts ? Date.parse(s.at.ts) : Date.now())}`);
  },
};

interface DiffArgs extends GlobalArgs { from: string; to?: string; 'workstream-id'?: string; stat?: boolean }
export const diffCommand: CommandModule<GlobalArgs, DiffArgs> = {
  command: 'diff <from> [to]',
  describe: 'Show what changed between two points: tasks, workstreams, resources and the interventions in between',
  builder: (y) => y
    .positional('from', { type: 'string', demandOption: true, describe: POINTS })
    .positional('to', { type: 'string', describe: 'the later point (default: now); before <from> shows the reverse' })
    .option('workstream-id', { type: 'string', describe: 'only this workstream' })
    .option('stat', { type: 'boolean', describe: 'one line a workstream, like git diff --stat' })
    .example('cairn diff git:HEAD~1 git:HEAD', 'what the last commit did to the state')
    .example('cairn diff 1200 --stat', 'what happened since seq 1200')
    .epilogue('Exit codes: 0 shown (whether or not anything changed); 2 an unknown point or bad flags; 3 the log is damaged.') as never,
  handler: async (a) => {
    const d = await diff({ ...common(a), from: a.from, to: a.to, workstreamId: a['workstream-id'] });
    if (a.stat) emit(a, statDoc(d), () => renderStat(d));
    else emit(a, d, () => renderDiff(d));
  },
};

function statDoc(d: DiffResult) {
  return {
    from: d.from, to: d.to, reversed: d.reversed,
    workstreams: d.workstreams.map((w) => ({ id: w.id, kinds: w.kinds, from: w.from, to: w.to, ...w.stat })),
    interventions: d.interventions?.length ?? null,
  };
}

function head(d: DiffResult): string {
  return `diff ${pointLine(d.from)} → ${pointLine(d.to)}${d.reversed ? ' (reversed: the later point first)' : ''}`;
}

const state = (s: string | null) => s ?? '(none)';
const trimmed = (text: string) => text.split('\n').map((l) => l.trimEnd()).join('\n');

function renderStat(d: DiffResult): string {
  const rows = d.workstreams.map((w) => [` ${w.id}`, '|', `${w.stat.tasks_changed} task${w.stat.tasks_changed === 1 ? '' : 's'} changed, ${w.stat.attempts} attempt${w.stat.attempts === 1 ? '' : 's'}`, `${state(w.from)} → ${state(w.to)}${w.kinds.includes('changed') ? '' : ` (${w.kinds.join(', ')})`}`]);
  const n = d.interventions?.length;
  return [head(d), ...(rows.length ? [trimmed(table(rows))] : []), ` ${d.workstreams.length} workstream${d.workstreams.length === 1 ? '' : 's'} changed, ${d.submitted.length} submitted, ${d.finished.length} finished, ${d.reopened.length} reopened, ${n ?? 'unknown'} intervention${n === 1 ? '' : 's'}`].join('\n');
}

function renderDiff(d: DiffResult): string {
  const out = [head(d)];
  if (d.workstreams.length === 0 && d.resources.length === 0 && d.workers.length === 0 && !d.scheduler) out.push('no change in the state');
  for (const w of d.workstreams) {
    out.push('', `workstream ${w.id}  ${state(w.from)} → ${state(w.to)}${w.kinds.includes('changed') ? '' : `  (${w.kinds.join(', ')})`}`);
    const rows = w.tasks.map((t) => [
      `  ${t.id}`, t.from === t.to ? state(t.to) : `${state(t.from)} → ${state(t.to)}`,
      t.attempts[0] === t.attempts[1] ? `attempts ${t.attempts[1]}` : `attempts ${t.attempts[0]} → ${t.attempts[1]}`,
      t.retries[0] === t.retries[1] ? '' : `retries ${t.retries[0]} → ${t.retries[1]}`,
    ]);
    if (rows.length) out.push(trimmed(table(rows.slice(0, 200))));
    if (rows.length > 200) out.push(`  (${rows.length - 200} more tasks: --json for all)`);
  }
  const limit = (x: number | null | undefined) => (x === undefined ? '(none)' : x === null ? '∞' : String(x));
  if (d.resources.length) out.push('', 'resources: ' + d.resources.map((r) => `${r.id} ${r.held[0]}/${limit(r.from)} → ${r.held[1]}/${limit(r.to)}`).join(', '));
  if (d.workers.length) out.push('workers: ' + d.workers.map((w) => `${w.id} ${state(w.from)} → ${state(w.to)}`).join(', '));
  if (d.scheduler) out.push(`scheduler: ${d.scheduler.from === null ? 'none' : `pid ${d.scheduler.from}`} → ${d.scheduler.to === null ? 'none' : `pid ${d.scheduler.to}`}`);
  if (d.interventions === null) out.push('', `interventions: not listed: ${d.interventions_note}`);
  else if (d.interventions.length) {
    out.push('', `interventions (${d.interventions.length}):`);
    out.push(trimmed(table(d.interventions.map((i) => [`  seq ${i.seq[0] === i.seq[1] ? i.seq[0] : `${i.seq[0]}-${i.seq[1]}`}`, i.ts, i.operator, i.tool ?? '-', JSON.stringify(i.reason ?? ''), i.ids.join(',')]))));
  } else out.push('', 'interventions: none');
  out.push(`config: ${d.config.note}`);
  return out.join('\n');
}
