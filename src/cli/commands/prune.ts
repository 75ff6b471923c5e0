import type { CommandModule } from 'yargs';
import { prune, type PruneResult } from '../../index.js';
import { common, emit, type GlobalArgs, table } from '../output.js';

interface PruneArgs extends GlobalArgs { 'dry-run'?: boolean }

export const pruneCommand: CommandModule<GlobalArgs, PruneArgs> = {
  command: 'prune',
  describe: 'Apply config.json\'s retention to backups, checkpoint files and attempt logs; never the log or what loading needs',
  builder: (y) => y
    .option('dry-run', { type: 'boolean', describe: 'List what would be removed (file, size, rule) and remove nothing' })
    .epilog([
      'Rules (config.json; a count, or an age in days with null for no limit):',
      '  backups_keep, backups_max_age_days            the newest valid backup always stays',
      '  checkpoints_keep, checkpoints_finished_max_age_days   oldest first; each workstream\'s latest stays',
      '  checkpoints_failed_max_age_days               the same for failed workstreams (null: as finished ones)',
      '  attempt_logs_max_age_days                     logs of attempts that completed their task',
      '  failed_attempt_logs_max_age_days              logs of the other attempts of finished tasks',
      '  archived_workstreams_max_age_days             a workstream finished that long ago keeps its archive file and latest checkpoint only',
      'Never removed: transitions.jsonl, current.json, archive files, snapshots, logs of unfinished tasks.',
      'cairn run applies the same rules when it ends. Nothing is recorded in the log (housekeeping, not a change of state).',
      'Exit 0, also when nothing matched.',
    ].join('\n'))
    .example('$0 prune --dry-run', 'what retention would remove now, and why')
    .example('$0 prune --json', 'remove it; one JSON document lists each file, its size and its rule') as never,
  handler: async (a) => {
    const r = await prune({ ...common(a), dryRun: a['dry-run'] === true });
    emit(a, r, () => describePrune(r));
  },
};

function describePrune(r: PruneResult): string {
  const verb = r.dry_run ? 'would remove' : 'removed';
  const lines = [r.removed.length === 0 ? 'nothing to remove: no retention rule matches a file' : `${verb} ${r.removed.length} file(s), ${r.bytes} bytes:`];
  if (r.removed.length > 0) lines.push(table(r.removed.map((x) => [x.file, `${x.bytes} B`, x.rule, x.why])).replace(/^/gm, '  '));
  for (const w of r.rewritten) lines.push(`${r.dry_run ? 'would rewrite' : 'rewrote'} ${w.file}: ${w.why}`);
  for (const k of r.kept) lines.push(`kept ${k.file} (${k.rule} matched): ${k.why}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
