import type { CommandModule } from 'yargs';
import { logArchive, type LogArchiveResult } from '../../index.js';
import { common, emit, type GlobalArgs } from '../output.js';

interface LogArchiveArgs extends GlobalArgs { to?: string; 'before-seq'?: number; 'keep-segments'?: number; 'dry-run'?: boolean }

export const logArchiveCommand: CommandModule<GlobalArgs, LogArchiveArgs> = {
  command: 'log-archive',
  describe: 'Move closed log segments out of .state/log/ into a folder, covered by a base (the state at the last moved seq)',
  builder: (y) => y
    .option('to', { type: 'string', describe: 'Folder outside .state/ the segments go to (created when missing)' })
    .option('before-seq', { type: 'number', describe: 'Move the closed segments whose records all come before seq N' })
    .option('keep-segments', { type: 'number', describe: 'Move every closed segment but the newest K' })
    .option('dry-run', { type: 'boolean', describe: 'List what would be moved and move nothing' })
    .epilog([
      'Each segment is copied into DIR and read back, log/base-<seq>.json (the state at the last moved',
      'seq, with the offset and crc the log goes on from) is written, and only then are the segments',
      'removed from log/; one log_archived record says what went where. A kill at any step leaves a',
      'folder every reader reads whole; run the command again to finish (a move whose record is in the',
      'log is finished as recorded, with no second record).',
      'After it, state --at, diff, log, events --since-seq, metrics --since and rollback to a point before',
      'the base fail with HISTORY_GONE (exit 2); events, history and metrics say where history starts.',
      'The base keeps the interventions.log lines and checkpoint names of the moved records.',
      'To read that history again: cp DIR/*.jsonl.gz .state/log/',
      'Exit 0 moved; 2 bad input or nothing to move (nothing changed); 3 the log is damaged; 4 busy.',
    ].join('\n'))
    .example('$0 log-archive --to ../cairn-archive --keep-segments 2', 'move all but the two newest closed segments') as never,
  handler: async (a) => {
    const r = await logArchive({ ...common(a), to: a.to ?? '', beforeSeq: a['before-seq'], keepSegments: a['keep-segments'], dryRun: a['dry-run'] === true });
    emit(a, r, () => describe(r));
  },
};

function describe(r: LogArchiveResult): string {
  const verb = r.dry_run ? 'would move' : 'moved';
  const lines = r.finished_interrupted === null ? [] : [`finished the move interrupted after its record (seq ${r.finished_interrupted}); run again for a new one`];
  lines.push(`${verb} ${r.segments.length} segment(s) to ${r.archived_to}:`, ...r.segments.map((s) => `  ${s.name}  seq ${s.first}-${s.last}  ${s.bytes} B`));
  if (r.base) lines.push(`the log now starts after seq ${r.base.seq} (log/${r.base.file})`);
  return lines.join('\n');
}
