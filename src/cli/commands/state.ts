import type { CommandModule } from 'yargs';
import { EXIT, gitSetup, init, repositoryOf, restoreState, validateState } from '../../index.js';
import { describeGitSetup } from './git.js';
import { confirm } from '../confirm.js';
import { common, emit, type GlobalArgs, table, warn } from '../output.js';

export const initCommand: CommandModule<GlobalArgs, GlobalArgs & { git?: boolean }> = {
  command: 'init',
  describe: 'Create the state folder (.state) with its log, config and .gitignore',
  builder: (y) => y
    .option('git', { type: 'boolean', describe: 'Also set the folder up for git (as cairn git-setup): .gitattributes and the merge driver in the repository\'s config' })
    .example('$0 init --git', 'a state folder to commit, whose log git merges through cairn') as never,
  handler: (a) => {
    // Outside a git repository --git is refused before anything is created.
    if (a.git) repositoryOf(common(a).stateDir);
    const r = init(common(a));
    const g = a.git ? gitSetup(common(a)) : null;
    if (g && !a.json) warn(g.warnings);
    emit(a, g ? { ...r, git: g } : r, () => [r.created ? `initialized ${r.state_dir}` : `${r.state_dir} is already initialized`, ...(g ? [describeGitSetup(g)] : [])].join('\n'));
  },
};

type ValidateArgs = GlobalArgs;
export const validateCommand: CommandModule<GlobalArgs, ValidateArgs> = {
  command: 'validate-state',
  describe: 'Check the log, every invariant and every derived file against a replay; changes nothing',
  handler: (a) => {
    const r = validateState(common(a));
    if (!a.json) warn(r.warnings);
    emit(a, r, () => r.ok
      ? `ok: ${r.records} records, seq ${r.seq}; the log, invariants and derived files agree`
      : [`${r.problems.length} problem(s) in ${r.state_dir}:`, ...r.problems.map((p) => `  [${p.code}] ${p.message}\n      fix: ${p.fix}`)].join('\n'));
    // A log git merged line by line is damaged state (exit 3): no command writes until it is repaired.
    // So is a damaged or missing segment of a rotated log (log/*.jsonl.gz).
    if (!r.ok) process.exitCode = r.problems.some((p) => p.code === 'LOG_MERGE_CONFLICT' || p.code === 'LOG_SEGMENT_DAMAGED') ? EXIT.DAMAGED : EXIT.FAILURE;
  },
};

interface RestoreArgs extends GlobalArgs {
  'from-backup'?: string;
  'from-transitions'?: string;
  'dry-run'?: boolean;
}
export const restoreCommand: CommandModule<GlobalArgs, RestoreArgs> = {
  command: 'restore-state',
  describe: 'Rebuild current.json and the derived files from the log, or from a backup plus the log after it',
  builder: (y) => y
    .option('from-backup', { type: 'string', describe: 'latest (the newest valid backup) or a backup file' })
    .option('from-transitions', { type: 'string', describe: 'a transitions.jsonl to replay (the state\'s own, or a copy that then replaces it; refused while a scheduler runs)' })
    .option('dry-run', { type: 'boolean', describe: 'Show what would change and write nothing' })
    .conflicts('from-backup', 'from-transitions')
    .example('$0 restore-state --from-transitions .state/transitions.jsonl --dry-run', 'see what differs from current.json')
    .example('$0 restore-state --from-backup latest --yes', 'restore from the newest valid backup') as never,
  handler: async (a) => {
    const base = { ...common(a), fromBackup: a['from-backup'], fromTransitions: a['from-transitions'] };
    const preview = await restoreState({ ...base, dryRun: true });
    if (a['dry-run']) {
      emit(a, preview, () => describeRestore(preview, true));
      return;
    }
    if (!a.json) process.stderr.write(describeRestore(preview, true) + '\n');
    await confirm(a.yes, `Rewrite current.json and the derived files from ${preview.source}?`);
    const r = await restoreState(base);
    warn(r.warnings);
    emit(a, r, () => describeRestore(r, false));
  },
};

function describeRestore(r: Awaited<ReturnType<typeof restoreState>>, dry: boolean): string {
  const head = dry
    ? `restore from ${r.source} would give the state at seq ${r.seq}; ${r.changes.length} difference(s) from current.json:`
    : `restored from ${r.source}: state at seq ${r.seq}, ${r.changes.length} difference(s) from the old current.json (${r.kept_snapshot ? `kept as backups/${r.kept_snapshot}` : 'not kept: it was missing or not a valid snapshot'})${r.replaced_log ? `; the old log is kept as ${r.replaced_log}` : ''}`;
  if (!dry || r.changes.length === 0) return head;
  const rows = r.changes.slice(0, 40).map((c) => [c.what, c.field, JSON.stringify(c.from), '->', JSON.stringify(c.to)]);
  return `${head}\n${table(rows).replace(/^/gm, '  ')}${r.changes.length > 40 ? `\n  … and ${r.changes.length - 40} more` : ''}`;
}
