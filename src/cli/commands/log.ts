import type { CommandModule } from 'yargs';
import { CairnError, type DecisionLine, type LogResult, streamLog } from '../../index.js';
import { common, type GlobalArgs, report } from '../output.js';
import { writeOut } from '../pipes.js';
import { ReadProgress } from '../read-progress.js';

interface LogArgs extends GlobalArgs { since?: string; until?: string; grep?: string; interventions?: boolean; 'max-count'?: string }

/**
 * `cairn log`: one line a decision, newest first like `git log --oneline`. The API hands over a
 * page at a time (see api/history/log.ts), printed as it comes, --json too, so a log of any size is
 * printed in bounded memory, and `cairn log | head` stops reading when head goes away.
 */
export const logCommand: CommandModule<GlobalArgs, LogArgs> = {
  command: 'log',
  describe: 'One line a decision of the log, newest first: seq range, time, what was decided, by whom',
  builder: (y) => y
    .option('since', { type: 'string', describe: 'only decisions after this point: a seq, a date-time, git:<rev> or now' })
    .option('until', { type: 'string', describe: 'only decisions up to and including this point' })
    .option('operator', { type: 'string', describe: 'only decisions by this operator (here a filter: log changes nothing)', defaultDescription: 'every operator' })
    .option('grep', { type: 'string', describe: 'only decisions whose summary, reason, tool or ids contain this text (case-insensitive)' })
    .option('interventions', { type: 'boolean', describe: 'only interventions: decisions an operator made with a tool (retry-task, skip-task, rollbacks, …), as interventions.log lists them' })
    .option('max-count', { alias: 'n', type: 'string', describe: 'at most this many decisions, the newest (N >= 1)' })
    .example('$0 log -n 20', 'the last 20 decisions')
    .example('$0 log --interventions --since 2026-12-06T00:00:00Z', 'what operators did since that time')
    .example('$0 log --since git:HEAD', 'what happened since the state was last committed')
    .epilogue('Points: a seq (1234), an ISO 8601 date-time, git:<rev> (the seq committed at that revision) or now. --since P shows what came after the state at P, --until P what led up to it.\nExit codes: 0 shown (also when nothing matched); 2 a bad point, a point the log or git does not have, or a bad --max-count.') as never,
  handler: async (a) => {
    const json = a.json === true;
    const progress = json ? null : ReadProgress.start();
    let started = false;
    let width = 0;
    const sink = async (lines: DecisionLine[]): Promise<boolean> => {
      progress?.end();
      // The first page holds the newest, widest seq range: its width lines up every row after it.
      width ||= Math.max(...lines.map((d) => range(d).length));
      const text = json ? jsonChunk(lines, started) : lines.map((d) => row(d, width)).join('\n') + '\n';
      started = true;
      return writeOut(text);
    };
    let r: LogResult;
    try {
      r = await streamLog({
        ...common(a), byOperator: a.operator, since: a.since, until: a.until, grep: a.grep, interventions: a.interventions,
        maxCount: wholeNumber(a['max-count']),
        onProgress: progress ? (pass, d, t) => progress.update(pass === 1 ? 'finding the decisions' : 'reading them, newest first', d, t) : undefined,
      }, sink);
    } catch (e) {
      progress?.end();
      if (!json || !started) throw e;
      // Part of the document is out: close it with the error, so stdout still holds one JSON document.
      const code = report(e, false);
      const err = e instanceof CairnError ? e.toJSON() : { code: 'INTERNAL', message: String((e as Error)?.message ?? e) };
      await writeOut(`\n  ],\n  "ok": false,\n  "error": ${JSON.stringify(err)},\n  "exit_code": ${code}\n}\n`);
      process.exitCode = code;
      return;
    }
    progress?.end();
    if (r.stopped) return;
    for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
    if (json) {
      const tail = JSON.stringify({ since: r.since, until: r.until, shown: r.shown, warnings: r.warnings }, null, 2).slice(1);
      await writeOut(started ? `\n  ],${tail}\n` : `{\n  "decisions": [],${tail}\n`);
    } else if (!started) await writeOut('(no matching decisions)\n');
  },
};

function range(d: DecisionLine): string {
  return d.first_seq === d.last_seq ? String(d.first_seq) : `${d.first_seq}-${d.last_seq}`;
}

function row(d: DecisionLine, width: number): string {
  const who = d.operator === null ? 'scheduler: ' : '';
  return `${range(d).padEnd(width)}  ${d.ts.slice(0, 19).replace('T', ' ')}  ${who}${d.summary}`;
}

/** The lines as the next part of `{"decisions": [...], …}`, two-space indented like every --json document. */
function jsonChunk(lines: readonly DecisionLine[], started: boolean): string {
  const whole = JSON.stringify({ decisions: lines }, null, 2);
  const body = whole.slice(HEAD.length, whole.length - TAIL.length);
  return (started ? ',\n' : HEAD) + body;
}

const HEAD = '{\n  "decisions": [\n';
const TAIL = '\n  ]\n}';

/** -n given as text, so a bad value is named as typed (`-n abc`), exit 2. */
function wholeNumber(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const text = String(v).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new CairnError('BAD_INPUT', `--max-count must be a whole number >= 1, got ${JSON.stringify(v)}`, { hint: 'For example: cairn log -n 20' });
  }
  return n;
}
