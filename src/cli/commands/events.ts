import type { CommandModule } from 'yargs';
import { CairnError, historyStartLine, type LogRecord, RECORD_TYPES, streamEvents } from '../../index.js';
import { common, type GlobalArgs, report } from '../output.js';
import { writeOut } from '../pipes.js';

interface EventsArgs extends GlobalArgs { type?: string[]; 'workstream-id'?: string; 'task-id'?: string; 'worker-id'?: string; 'since-seq'?: string; last?: string }

/**
 * `cairn events`: streams the log through the filter, a slice at a time, so a log of any size is
 * printed in constant memory (--json too: the document is written as it goes), and stops reading
 * when stdout's reader goes away (`cairn events | head`).
 */
export const eventsCommand: CommandModule<GlobalArgs, EventsArgs> = {
  command: 'events',
  describe: 'Read and filter the transitions log',
  builder: (y) => y
    .option('type', { type: 'string', array: true, describe: 'record types to keep (repeatable)' })
    .option('workstream-id', { type: 'string', describe: 'only records of this workstream' })
    .option('task-id', { type: 'string', describe: 'only records of this task: <workstream>/<task>, or a bare task id when unambiguous' })
    .option('worker-id', { type: 'string', describe: 'only records of this worker' })
    .option('since-seq', { type: 'string', describe: 'only records after this seq (a whole number)' })
    .option('last', { type: 'string', describe: 'only the last N matching records (N >= 1)' }) as never,
  handler: async (a) => {
    const json = a.json === true;
    let started = false;
    const sink = async (records: LogRecord[]): Promise<boolean> => {
      const text = json ? jsonChunk(records, started) : records.map(row).join('\n') + '\n';
      started = true;
      return writeOut(text);
    };
    let r: Awaited<ReturnType<typeof streamEvents>>;
    try {
      r = await streamEvents({
        ...common(a), types: a.type, workstreamId: a['workstream-id'], task: a['task-id'], workerId: a['worker-id'],
        sinceSeq: wholeNumber('--since-seq', a['since-seq'], 0), last: wholeNumber('--last', a.last, 1),
      }, sink);
    } catch (e) {
      if (!json || !started) throw e;
      // Part of the document is out: close it with the error, so stdout still holds one JSON document.
      const code = report(e, false);
      const err = e instanceof CairnError ? e.toJSON() : { code: 'INTERNAL', message: String((e as Error)?.message ?? e) };
      await writeOut(`\n  ],\n  "ok": false,\n  "error": ${indent(JSON.stringify(err, null, 2), '  ').trimStart()},\n  "exit_code": ${code}\n}\n`);
      process.exitCode = code;
      return;
    }
    if (r.stopped) return;
    // Old segments moved out: said after the records (they are printed as they are read).
    const gone = r.history_starts_at ? `  "history_starts_at": ${JSON.stringify(r.history_starts_at, null, 2).replace(/\n/g, '\n  ')},\n` : '';
    if (json) await writeOut(started ? `\n  ],\n${gone}  "lastSeq": ${r.lastSeq}\n}\n` : `{\n  "records": [],\n${gone}  "lastSeq": ${r.lastSeq}\n}\n`);
    else {
      if (!started) await writeOut('(no matching records)\n');
      if (r.history_starts_at) await writeOut(`${historyStartLine(r.history_starts_at)}\n`);
    }
  },
};

/** The records as the next part of `{"records": [...], "lastSeq": n}`, two-space indented like every --json document. */
function jsonChunk(records: readonly LogRecord[], started: boolean): string {
  // Stringified inside the same envelope, so each record comes out indented as in the whole document.
  const whole = JSON.stringify({ records }, null, 2);
  const body = whole.slice(HEAD.length, whole.length - TAIL.length);
  return (started ? ',\n' : HEAD) + body;
}

const HEAD = '{\n  "records": [\n';
const TAIL = '\n  ]\n}';

function indent(text: string, pad: string): string {
  return text.replace(/^/gm, pad);
}

// Fixed column widths, since the rows are printed before the last one is read.
const TYPE_WIDTH = Math.max(...Object.keys(RECORD_TYPES).map((t) => t.length));

function row(x: LogRecord): string {
  const what = [
    x.workstream_id && x.task_id ? `${String(x.workstream_id)}/${String(x.task_id)}` : x.workstream_id ?? x.worker_id ?? x.resource_id ?? '',
    x.from !== undefined || x.to !== undefined ? `${String(x.from ?? '')}->${String(x.to ?? '')}` : '',
    x.operator ? `by ${x.operator}` : '',
    x.reason ? `"${x.reason}"` : '',
  ].filter(Boolean).join(' ');
  return [String(x.seq).padEnd(7), x.ts.padEnd(24), x.severity.padEnd(8), x.type.padEnd(TYPE_WIDTH), what].join('  ').trimEnd();
}

/** A whole-number flag given as text, so a bad value is named as typed (`--since-seq abc`), exit 2. */
function wholeNumber(flag: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const text = String(v).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new CairnError('BAD_INPUT', `${flag} must be a whole number >= ${min}, got ${JSON.stringify(v)}`, {
      hint: `For example: cairn events ${flag} ${min === 0 ? 100 : 20}`,
    });
  }
  return n;
}
