import type { CommandModule } from 'yargs';
import { gitSetup, type GitSetupResult, mergeDriver, type MergeDriverResult } from '../../index.js';
import { common, emit, type GlobalArgs, warn } from '../output.js';

/** What git-setup wrote, in a few lines. */
export function describeGitSetup(g: GitSetupResult): string {
  const changed = g.config.filter((c) => c.changed);
  return [
    `${g.attributes === 'unchanged' ? 'kept' : g.attributes === 'written' ? 'wrote' : 'added the missing lines to'} ${g.attributes_file}`,
    changed.length === 0 ? `git config of ${g.repository}: the merge drivers were already registered` : `git config of ${g.repository}: set ${changed.map((c) => `${c.key}=${JSON.stringify(c.value)}`).join(', ')}`,
  ].join('\n');
}

export const gitSetupCommand: CommandModule<GlobalArgs, GlobalArgs & { driver?: string }> = {
  command: 'git-setup',
  describe: 'Set an existing state folder up for git: .gitattributes (the log merged only by cairn, derived files generated) and the merge driver in the repository\'s config',
  builder: (y) => y
    .option('driver', { type: 'string', describe: 'How git starts cairn for a merge; found on PATH at merge time, never an absolute path (the config is shared by every worktree)', default: 'cairn' })
    .example('$0 git-setup', 'register the driver in this clone (run it in every clone: git config is not committed)')
    .example('$0 git-setup --driver "npx --no-install cairn"', 'when cairn is a dependency of the project, not on PATH')
    .epilogue('Writes <state-dir>/.gitattributes (transitions.jsonl text eol=lf merge=cairn; derived files linguist-generated merge=cairn-ours) and sets merge.cairn.driver = "cairn merge-driver %O %A %B %P" and merge.cairn-ours.driver = true in .git/config. Idempotent. Exit 2 outside a git repository.') as never,
  handler: (a) => {
    const g = gitSetup({ ...common(a), driver: a.driver });
    if (!a.json) warn(g.warnings);
    emit(a, g, () => describeGitSetup(g));
  },
};

interface DriverArgs extends GlobalArgs { base: string; ours: string; theirs: string; path?: string }

export const mergeDriverCommand: CommandModule<GlobalArgs, DriverArgs> = {
  command: 'merge-driver <base> <ours> <theirs> [path]',
  describe: 'The git merge driver of transitions.jsonl (git runs it; see git-setup): our records, then the other branch\'s submissions and interventions decided again',
  builder: (y) => y
    .positional('base', { type: 'string', describe: '%O: the ancestor (not trusted: the fork is the longest common prefix of both chains)' })
    .positional('ours', { type: 'string', describe: '%A: ours; overwritten with the result' })
    .positional('theirs', { type: 'string', describe: '%B: theirs' })
    .positional('path', { type: 'string', describe: '%P: the log\'s path in the repository, for messages' })
    .epilogue('Exit 0: merged (new records carry rebased_from; a decision ours already has is skipped, so merging either way converges). A rotated log: ours\' segments (log/) are read from HEAD, theirs\' from the commit git merge names; theirs rotated after the fork while ours went on is a conflict. Exit 1: a conflict (records of a run on the other branch, or a decision that does not apply on ours): %A is left as our valid log and stderr lists the records and what to do. Writes no other file.') as never,
  handler: async (a) => {
    const r = await mergeDriver({ base: a.base, ours: a.ours, theirs: a.theirs, path: a.path });
    emit(a, r, () => describeMerge(r));
    if (!r.clean) {
      // git shows the driver's stderr; the conflict must be readable there even with --json.
      if (a.json) process.stderr.write(describeMerge(r) + '\n');
      process.exitCode = 1;
    }
  },
};

function describeMerge(r: MergeDriverResult): string {
  if (r.clean) {
    const head = r.mode === 'ours' ? 'nothing to take from theirs' : r.mode === 'fast_forward' ? `took theirs whole (ours had nothing after seq ${r.fork_seq})` : `decided ${r.added.length} of theirs again on ours`;
    return [`cairn merge-driver ${r.path}: ${head}; forked after seq ${r.fork_seq}, result ends at seq ${r.result_seq}`,
      ...r.added.map((x) => `  + seq ${x.seqs[0]}-${x.seqs[1]} from their ${x.what}`),
      ...r.skipped.map((x) => `  = their ${x.what}: ${x.why}`),
      // git merges the derived files the other branch added (checkpoints, archive) as files, without
      // a driver; they describe its log, not the merged one, until they are written again.
      ...(r.mode === 'ours' ? [] : ['then, after git has finished the merge: cairn restore-state --from-transitions .state/transitions.jsonl --yes (writes every derived file for the merged log)'])].join('\n');
  }
  return [`cairn merge-driver ${r.path}: CONFLICT; forked after seq ${r.fork_seq}; ${r.path} is left as our log (seq ${r.result_seq})`,
    ...r.conflicts.flatMap((c) => [`  their ${c.what}: ${c.why}`, ...c.records.map((x) => `    seq ${x.seq} ${x.type}${x.ids ? ` ${x.ids}` : ''} (id ${x.id})`)]),
    'what to do:', ...r.next.map((n) => `  - ${n}`)].join('\n');
}
