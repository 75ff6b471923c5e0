import type { CommandModule } from 'yargs';
import { CairnError, recover, type RecoverPlan, type RecoverResult, type RecoverStep } from '../../../index.js';
import { common, emit, type GlobalArgs, warn } from '../../output.js';
import { type ActionArgs, withDryRun } from './common.js';

interface RecoverArgs extends ActionArgs { 'workstream-id': string; auto?: boolean }

export const recoverCommand: CommandModule<GlobalArgs, RecoverArgs> = {
  command: 'recover',
  describe: 'Carry out analyze-workstream-failure\'s recovery plan: retry transient failures (timeout, signal, worker lost) and flaky ones, leave deterministic ones (same failure on every attempt, validate, spawn error) to a person',
  builder: (y) => withDryRun(y.option('workstream-id', { type: 'string', demandOption: true, describe: 'the workstream' }))
    .option('auto', { type: 'boolean', describe: 'no questions: carry out only the steps safe to repeat, name the ones left to a person (exit 1 when some are)' })
    .example('$0 recover --workstream-id nightly --dry-run', 'the plan: each step, the exact command it runs and why')
    .example('$0 recover --workstream-id nightly --auto && cairn run', 'retry what is safe to retry, then run it')
    .epilogue([
      'The plan is always shown first. Without --auto each step is asked for (--yes: every step, also those a person should look at first).',
      'Each step runs through retry-task, recorded as usual with the operator and the reason "recover: <why>". Start a scheduler (cairn run) to run the retried tasks.',
      'Exit codes: 0 every step done (or nothing to recover; a dry run without --auto); 1 some step left to a person or not confirmed (--auto --dry-run: would be); 2 unknown workstream, or no --yes/--auto off a terminal (nothing changed).',
    ].join('\n')) as never,
  handler: async (a) => {
    const dry = a['dry-run'] === true;
    const auto = a.auto === true;
    if (!dry && !auto && !a.yes && !process.stdin.isTTY) {
      throw new CairnError('CONFIRMATION_REQUIRED', 'recover asks before each step, and stdin is not a terminal', {
        hint: `Run: cairn recover --workstream-id ${a['workstream-id']} --dry-run to see the plan, then --auto (only the steps safe to repeat) or --yes (every step)`,
      });
    }
    const r = await recover({
      ...common(a), workstream: a['workstream-id'], dryRun: dry, auto,
      // The plan goes out before anything is done (with --json it is part of the one document).
      onPlan: (p) => (a.json ? undefined : process.stdout.write(planText(p) + '\n')),
      confirmStep: a.yes ? undefined : ask,
    });
    warn(r.warnings);
    emit(a, r, () => resultText(r));
    if (!r.complete && !(dry && !auto)) process.exitCode = 1;
  },
};

function planText(p: RecoverPlan): string {
  const out = [`recovery plan for ${p.workstream_id} (${p.state}; ${p.diagnosis.replace(/_/g, ' ')}):`];
  if (p.steps.length === 0) out.push('  nothing failed: nothing to recover');
  p.steps.forEach((s, i) => {
    out.push(`  ${i + 1}. ${s.task}: ${s.safe ? 'retry, safe to repeat' : 'ask a person'}: ${s.why}`, `       ${s.command}`);
    for (const l of s.look) out.push(`       (first: ${l})`);
  });
  for (const f of p.follows) out.push(`  ${f.task} is blocked: it follows ${f.root ?? 'its failed dependency'} by itself`);
  for (const n of p.notes) out.push(`  note: ${n}`);
  return out.join('\n');
}

function resultText(r: RecoverResult): string {
  const out: string[] = [];
  r.steps.forEach((s, i) => {
    const what = s.status === 'done' ? `done (seq ${s.records.map((x) => x.seq).join(', ')})` : s.status.replace(/_/g, ' ');
    out.push(`${i + 1}. ${s.task}: ${what}${s.message ? `: ${s.message}` : ''}`);
  });
  if (r.dry_run && r.steps.length > 0) out.push('(dry run: nothing was written)');
  if (r.left.length > 0) out.push(`left to a person: ${r.left.join(', ')}; after fixing the cause, run the step's command by hand`);
  if (r.next.length > 0) out.push('next:', ...r.next.map((c) => `  ${c}`));
  return out.join('\n');
}

/** One question a step, on the terminal; no answer but y/yes leaves the step undone. */
async function ask(s: RecoverStep, i: number): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises'); // only a terminal prompt needs it
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const q = `step ${i + 1}: ${s.command}${s.safe ? '' : ' (a person should fix the cause first)'}: run it? [y/N] `;
    const answer = (await rl.question(q)).trim().toLowerCase();
    return answer === 'y' || answer === 'yes';
  } finally {
    rl.close();
  }
}
