import { realpathSync } from 'node:fs';
import * as path from 'node:path';
import { CairnError } from '../errors.js';
import { diffStates, type Change } from '../model/diff.js';
import { State } from '../model/state.js';
import { realFs } from '../store/fsio.js';
import { listBackups } from '../store/load.js';
import { StatePaths } from '../store/paths.js';
import { rebuildInterventions, replaceLog, replayFile, snapshotOnlyState } from '../store/replace.js';
import { checkRoot, Store } from '../store/store.js';
import { afterCommit, type CommonOptions, operatorOf, stateDirOf } from './common.js';
import type { GitCommitInfo } from './git-commit.js';
import type { LogRecord } from '../model/types.js';
import { refuseWhileScheduling } from './scheduler-guard.js';

export interface RestoreOptions extends CommonOptions {
  /** `latest` (newest valid backup) or a backup file. */
  fromBackup?: string;
  /** A transitions.jsonl to replay: the state's own log, or a copy that then replaces it. */
  fromTransitions?: string;
  dryRun?: boolean;
}

export interface RestoreResult {
  dry_run: boolean;
  source: string;
  /** What differs between the current snapshot and the restored state. */
  changes: Change[];
  seq: number;
  /** Where the replaced log was kept, when a different log file was installed. */
  replaced_log: string | null;
  /**
   * The backup (a name in backups/) the old current.json was kept as; null on a dry run, or when
   * there was no valid old current.json to keep (a damaged snapshot is never made a backup).
   */
  kept_snapshot: string | null;
  warnings: string[];
  /** With git_commit in config.json: the commit of the state folder, or why there is none. */
  git_commit?: GitCommitInfo;
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * restore-state: rebuilds current.json (and every derived file, interventions.log included) from the
 * log, or from a backup plus the log after it. Shows what differs from the current snapshot first; keeps the old snapshot as a
 * backup; records `state_restored`. The log is the truth and is only replaced when another log file
 * is given, after that file has been checked end to end (the old log is kept beside it).
 */
export async function restoreState(o: RestoreOptions): Promise<RestoreResult> {
  if ((o.fromBackup === undefined) === (o.fromTransitions === undefined)) {
    throw new CairnError('BAD_INPUT', 'give exactly one of --from-backup and --from-transitions', {
      hint: 'cairn restore-state --from-transitions .state/transitions.jsonl, or cairn restore-state --from-backup latest',
    });
  }
  const root = stateDirOf(o);
  const io = o.fs ?? realFs;
  checkRoot(io, root, o.dryRun ? 'read' : 'write');
  const paths = new StatePaths(root);
  const before = snapshotOnlyState(io, paths) ?? new State();
  const clock = o.clock ?? Date.now;

  if (o.fromTransitions !== undefined) {
    const file = o.fromTransitions;
    if (!io.lstatSync(file)?.isFile()) throw new CairnError('BAD_INPUT', `${file} is not a file`, { hint: 'Pass the path of a transitions.jsonl file.' });
    const own = sameFile(file, paths.log);
    if (!own) {
      const replay = replayFile(io, file);
      const changes = diffStates(before, replay.state);
      if (o.dryRun) return { dry_run: true, source: file, changes, seq: replay.state.seq, replaced_log: null, kept_snapshot: null, warnings: [] };
      const current = await Store.open(root, { fs: io, readOnly: true, allowDamage: true, config: o.config });
      // A scheduler would find its log replaced under it and stop (LOG_REPLACED): refused up front.
      await refuseWhileScheduling(paths, current.config, current.state.scheduler(), `restore-state --from-transitions ${file} would replace the log it is writing`);
      await current.close();
      const aside = await replaceLog(io, paths, file, current.config, clock());
      return finish(o, { skipCurrent: true }, file, changes, path.basename(aside));
    }
    const store = await Store.open(root, { fs: io, clock, config: o.config, skipCurrent: true, readOnly: o.dryRun });
    const changes = diffStates(before, store.state);
    if (o.dryRun) return { dry_run: true, source: file, changes, seq: store.state.seq, replaced_log: null, kept_snapshot: null, warnings: store.warnings };
    return record(o, store, 'transitions', 'transitions', changes, null);
  }

  const want = o.fromBackup!;
  let snapshotFile: string | undefined;
  if (want !== 'latest') {
    snapshotFile = io.lstatSync(want) ? want : path.join(paths.backups, want);
    if (!io.lstatSync(snapshotFile)) {
      const known = listBackups(io, paths).slice(0, 5).map((b) => b.file);
      throw new CairnError('BAD_INPUT', `no backup ${want}`, { details: { closest: known }, hint: known.length ? `Newest backups: ${known.join(', ')}` : 'There are no backups yet; use --from-transitions.' });
    }
  }
  const store = await Store.open(root, { fs: io, clock, config: o.config, skipCurrent: true, snapshotFile, readOnly: o.dryRun });
  if (snapshotFile !== undefined && store.source !== snapshotFile) {
    throw new CairnError('BAD_INPUT', `backup ${want} cannot be used: ${store.warnings.join('; ')}`, { hint: 'Try --from-backup latest, or --from-transitions .state/transitions.jsonl' });
  }
  const changes = diffStates(before, store.state);
  if (o.dryRun) return { dry_run: true, source: store.source, changes, seq: store.state.seq, replaced_log: null, kept_snapshot: null, warnings: store.warnings };
  // With no valid backup the state comes from the log alone (store.source is 'log').
  return record(o, store, store.source === 'log' ? 'transitions' : 'backup', store.source, changes, null);
}

async function finish(o: RestoreOptions, extra: { skipCurrent: boolean }, source: string, changes: Change[], replaced: string): Promise<RestoreResult> {
  const store = await Store.open(stateDirOf(o), { fs: o.fs, clock: o.clock, config: o.config, ...extra });
  return record(o, store, 'transitions', source, changes, replaced);
}

async function record(o: RestoreOptions, store: Store, kind: 'backup' | 'transitions', source: string, changes: Change[], replaced: string | null): Promise<RestoreResult> {
  const seqBefore = store.position.seq;
  let kept: string | null = null;
  let recs: LogRecord[];
  try {
    recs = await store.commit(() => [{
      type: 'state_restored', operator: operatorOf(o), reason: o.reason ?? `restore-state from ${source}`, action: 'restore_state',
      source: kind, file: source === 'transitions' ? 'transitions.jsonl' : source, changes: changes.length, ...(replaced ? { replaced_log: replaced } : {}),
    }]);
  } catch (e) {
    await store.close();
    throw e;
  }
  try {
    await store.writeDerived(true, true);
    kept = store.lastBackupFile;
    await rebuildInterventions(store.io, store.paths, store.config);
    await store.close();
  } catch (e) {
    await store.close().catch(() => undefined); // the first failure is the one to report
    throw afterCommit(e, store, seqBefore);
  }
  // git (and the module that runs it) is loaded only when git_commit is on: restoreState is exported
  // eagerly, and every everyday command would load it.
  const git = store.config.git_commit
    ? (await import('./git-commit.js')).commitIntervention(true, store.paths.root, 'restore_state', recs, store.warnings)
    : null;
  return { dry_run: false, source, changes, seq: store.state.seq, replaced_log: replaced, kept_snapshot: kept === null ? null : path.basename(kept), warnings: store.warnings, ...(git ? { git_commit: git } : {}) };
}
