import type { CommandModule } from 'yargs';
import { repairState, type RepairResult } from '../../../index.js';
import { common, type GlobalArgs } from '../../output.js';
import { type ActionArgs, perform, recordRows, withDryRun } from './common.js';

export const repairStateCommand: CommandModule<GlobalArgs, ActionArgs> = {
  command: 'repair-state',
  describe: 'Repair a damaged state after a full copy of it: keep every record that can be trusted (a flipped bit corrected, a record damaged further costs only itself), carry forward what newer derived files hold, rebuild derived files, requeue orphaned tasks, clear stale locks (asks for confirmation)',
  builder: (y) => withDryRun(y)
    .example('$0 repair-state --dry-run', 'see the plan')
    .example('$0 repair-state --yes', 'repair (a copy of .state goes to .state/repair-copies/<time>/ first, git-ignored)') as never,
  handler: async (a) => {
    const r = await perform(a, (dryRun) => repairState({ ...common(a), dryRun }), renderRepair, (p) => `Repair ${common(a).stateDir} (${p.actions.length} action(s), after a complete copy)?`);
    if (!r.dry_run && r.remaining.length > 0) process.exitCode = 1;
  },
};

function renderRepair(r: RepairResult): string {
  const out = [r.message];
  if (r.log.damage) {
    out.push(`log: good up to seq ${r.log.good_seq} (byte ${r.log.good_offset}); ${r.log.damage.kind} at seq ${r.log.damage.seq}: ${r.log.damage.reason}`);
    const lines = r.log.set_aside?.lines ?? [];
    out.push(`  set aside${r.log.set_aside_file ? ` in ${r.log.set_aside_file}` : ''}: ${r.log.set_aside?.bytes ?? 0} bytes, ${lines.length} line(s):`);
    for (const l of lines.slice(0, 20)) out.push(`    ${l.intact ? `seq ${l.seq ?? '?'} ${l.type ?? '?'} ${l.ids ?? ''}` : '(unreadable)'}`);
    if (lines.length > 20) out.push(`    … and ${lines.length - 20} more`);
    const fates = r.log.salvage.filter((l) => l.kind !== 'intact');
    if (fates.length) out.push(`  salvaged: the log keeps seq 1-${r.log.end_seq}; ${fates.filter((l) => l.kind === 'corrected').length} corrected, ${fates.filter((l) => l.kind === 'lost').length} lost (a placeholder keeps the seq), ${fates.filter((l) => l.kind === 'set_aside').length} not kept`);
  }
  const files = [...r.files.added.map((f) => `+ ${f}`), ...r.files.changed.map((f) => `~ ${f}`), ...r.files.removed.map((f) => `- ${f}`)];
  if (files.length) out.push(r.dry_run ? 'files it would write (+ new, ~ changed, - removed):' : 'files written (+ new, ~ changed, - removed):', ...files.map((f) => `  ${f}`));
  if (r.actions.length) out.push(r.dry_run ? 'plan:' : 'done:', ...r.actions.map((x) => `  - ${x}`));
  if (r.records.length) out.push(r.dry_run ? 'records it would append:' : 'records appended:', recordRows(r.records));
  if (r.dry_run && r.changed) out.push('(dry run: nothing was written)');
  if (!r.dry_run && r.changed) {
    out.push(r.remaining.length === 0 ? 'validate-state: ok' : `validate-state still finds ${r.remaining.length} problem(s):`);
    for (const p of r.remaining) out.push(`  [${p.code}] ${p.message}\n      fix: ${p.fix}`);
  }
  return out.join('\n');
}

export const STATE_COMMANDS = [repairStateCommand];
