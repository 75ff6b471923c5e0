import type { CommandModule } from 'yargs';
import { CairnError, createSystemCheckpoint, listBackupFiles, listSystemCheckpoints, nameCheckpoint, restoreSystemCheckpoint } from '../../../index.js';
import { common, emit, type GlobalArgs, table } from '../../output.js';
import { type ActionArgs, perform, renderAction, withDryRun } from './common.js';

const NAME_RULE = 'a name is an id (letters, digits, . _ -), never all digits nor "latest", and never reused';

interface CheckpointArgs extends ActionArgs { 'workstream-id': string; name: string }
export const checkpointCommand: CommandModule<GlobalArgs, CheckpointArgs> = {
  command: 'checkpoint',
  describe: `Name a workstream's current point (its last task transition) so you can return to it: listed by cairn checkpoints, taken by rollback-workstream --to-checkpoint NAME; ${NAME_RULE}`,
  builder: (y) => withDryRun(y)
    .option('workstream-id', { type: 'string', demandOption: true, describe: 'the workstream' })
    .option('name', { type: 'string', demandOption: true, describe: `the checkpoint's name, unique in the workstream (${NAME_RULE})` })
    .example('$0 checkpoint --workstream-id nightly --name build-ok --reason "before the risky deploy"', 'name where nightly stands now')
    .example('$0 rollback-workstream --workstream-id nightly --to-checkpoint build-ok', 'go back to it later') as never,
  handler: async (a) => {
    await perform(a, (dryRun) => nameCheckpoint({ ...common(a), workstream: a['workstream-id'], name: String(a.name), dryRun }), renderAction);
  },
};

interface SystemArgs extends ActionArgs { action: string; name?: string; checkpoint?: string }
export const systemCheckpointCommand: CommandModule<GlobalArgs, SystemArgs> = {
  // The positional is not called `name`: yargs would fold --name into it and list it only as a positional.
  command: 'system-checkpoint <action> [checkpoint]',
  describe: 'Name the whole state at a point (create --name NAME), list the names (list), or go back to one (restore NAME: every workstream rolled back to its state then, workstreams submitted after it cancelled, resource limits reset; completed work stays completed and the log keeps every record; asks for confirmation)',
  builder: (y) => withDryRun(y)
    .positional('action', { choices: ['create', 'list', 'restore'], describe: 'create, list or restore' })
    .positional('checkpoint', { type: 'string', describe: 'restore: the system checkpoint to go back to (its name; --name works too)' })
    .option('name', { type: 'string', describe: `create: the name to give the whole state as it is now (${NAME_RULE}); restore: the checkpoint to go back to` })
    .example('$0 system-checkpoint create --name before-deploy', 'name the whole state as it is now')
    .example('$0 system-checkpoint list', 'every system checkpoint, and whether the log still holds its point')
    .example('$0 system-checkpoint restore before-deploy --dry-run', 'the plan, workstream by workstream; nothing is written')
    .epilogue('What restore does to work done after the checkpoint: nothing is cut from the log. A workstream that existed then and changed since is rolled back as rollback-workstream does it (running tasks killed; a task not completed now takes its state then if that was completed or skipped, else pending, with its retry count then); a task completed since stays completed and a workstream completed since stays completed (their effects are applied); a workstream submitted since has its unfinished tasks cancelled; task definitions changed since keep their new form. The plan lists what it leaves as it is.') as never,
  handler: async (a) => {
    if (a.name !== undefined && a.checkpoint !== undefined && a.name !== a.checkpoint) {
      throw new CairnError('BAD_INPUT', `system-checkpoint ${a.action}: two names given (${a.checkpoint} and --name ${a.name})`, { hint: 'Give the name once: cairn system-checkpoint create --name NAME, or cairn system-checkpoint restore NAME' });
    }
    const name = a.name ?? a.checkpoint;
    switch (a.action) {
      case 'list': {
        const r = await listSystemCheckpoints(common(a));
        emit(a, r, () => r.checkpoints.length === 0 ? 'no system checkpoints yet (cairn system-checkpoint create --name NAME)' : table([
          ['name', 'seq', 'created', 'operator', 'in log', 'reason'],
          ...r.checkpoints.map((c) => [c.name, String(c.seq), c.created_at, c.operator ?? '-', c.in_log ? 'yes' : c.archived ? 'archived (log-archive)' : `NO (log crc ${c.log_crc ?? 'none'}, named ${c.crc})`, c.reason ?? '']),
        ]));
        return;
      }
      case 'create':
        if (!name) throw new CairnError('BAD_INPUT', 'system-checkpoint create needs a name', { hint: 'cairn system-checkpoint create --name before-deploy' });
        await perform(a, (dryRun) => createSystemCheckpoint({ ...common(a), name, dryRun }), renderAction);
        return;
      case 'restore':
        if (!name) throw new CairnError('BAD_INPUT', 'system-checkpoint restore needs the name of a system checkpoint', { hint: 'See them: cairn system-checkpoint list; then cairn system-checkpoint restore NAME --dry-run' });
        await perform(a, (dryRun) => restoreSystemCheckpoint({ ...common(a), name, dryRun }), (r) => {
          const p = r.plan;
          const out = [renderAction(r)];
          if (p.rolled_back.length) out.push('rolled back (to their point at the checkpoint):', ...p.rolled_back.map((x) => `  ${x.workstream_id} -> checkpoint ${x.checkpoint_seq}`));
          if (p.cancelled.length) out.push('submitted after it, unfinished tasks cancelled:', ...p.cancelled.map((x) => `  ${x}`));
          if (p.resources.length) out.push('resource limits reset:', ...p.resources.map((x) => `  ${x.resource_id}: ${String(x.from ?? 'unlimited')} -> ${String(x.to ?? 'unlimited')}`));
          if (p.left.length) out.push('left as it is:', ...p.left.map((x) => `  ${x}`));
          return out.join('\n');
        }, (p) => `Restore the whole state to system checkpoint ${name} (seq ${p.checkpoint.seq}): ${p.plan.rolled_back.length} workstream(s) rolled back, ${p.plan.cancelled.length} cancelled?`);
        return;
      default:
        throw new CairnError('BAD_INPUT', `system-checkpoint ${String(a.action)}: the action is create, list or restore`);
    }
  },
};

export const backupsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'backups',
  describe: 'List the snapshot backups (backups/), newest first: seq, time, size, whether each is valid (parses, hash holds) and agrees with the log (its crc at that seq); * = the one restore-state --from-backup latest takes',
  handler: async (a) => {
    const r = await listBackupFiles(common(a));
    emit(a, r, () => r.backups.length === 0 ? 'no backups yet (one is kept before current.json is overwritten, at most once per backup_interval)' : table([
      ['  file', 'seq', 'time', 'bytes', 'valid', 'agrees'],
      ...r.backups.map((b) => [`${b.latest ? '*' : ' '} ${b.file}`, String(b.seq), b.time, String(b.size), b.valid ? 'yes' : 'NO', b.agrees === null ? '-' : b.agrees ? 'yes' : 'NO']),
    ]) + (r.backups.some((b) => b.problem) ? '\n' + r.backups.filter((b) => b.problem).map((b) => `  ${b.file}: ${b.problem}`).join('\n') : ''));
  },
};

export const NAMED_COMMANDS = [checkpointCommand, systemCheckpointCommand, backupsCommand];
