import type { CommandModule } from 'yargs';
import { CairnError, MAX_WORKERS, run } from '../../index.js';
import { common, emit, type GlobalArgs } from '../output.js';
import { stdoutClosed } from '../pipes.js';
import { changeLine, LiveView, runSummary } from '../progress.js';

interface RunArgs extends GlobalArgs { spec?: string; workers?: number; executor?: string }

export const runCommand: CommandModule<GlobalArgs, RunArgs> = {
  command: 'run [spec]',
  describe: 'Submit a workstream (if given) and run every active workstream to the end; run again to resume after a crash',
  builder: (y) => y
    .positional('spec', { type: 'string', describe: 'a workstream spec (JSON); omit to resume what is active' })
    .option('workers', { type: 'number', describe: 'worker processes (env CAIRN_WORKERS); with --executor slurm, the most jobs in flight', defaultDescription: 'config.json workers, else cores (at least 2)' })
    .option('executor', { type: 'string', describe: 'where attempts run: local (worker processes here) or slurm (one Slurm job per attempt; the state folder must be shared with the compute nodes, see docs/scale-out.md)', defaultDescription: 'config.json executor.kind, else local' })
    .example('$0 run --executor slurm examples/hello.json', 'run each task as a Slurm job')
    .example('$0 run examples/hello.json', 'run the example workstream')
    .example('$0 run', 'resume every active workstream') as never,
  handler: async (a) => {
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const tty = !a.json && process.stdout.isTTY === true;
    const view = tty ? new LiveView(process.stdout) : null;
    const envWorkers = workersFromEnv(process.env.CAIRN_WORKERS);
    try {
      const r = await run({
        ...common(a),
        spec: a.spec,
        workers: a.workers ?? envWorkers,
        executor: a.executor,
        signal: ac.signal,
        onProgress: view ? (doc) => view.draw(doc) : undefined,
        onRecord: (rec) => {
          // Once stdout's reader left (`cairn run | head`), the run goes on quietly: nothing is lost, only unseen.
          if (!view && !a.json && !stdoutClosed()) {
            const line = changeLine(rec);
            if (line) process.stdout.write(line + '\n');
          }
        },
        onNote: (m) => process.stderr.write(`note: ${m}\n`),
      });
      emit(a, r, () => runSummary(r));
      process.exitCode = r.exit_code;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};

/** CAIRN_WORKERS as a number; a value that is not a whole number from 1 to MAX_WORKERS is bad input (exit 2). */
function workersFromEnv(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > MAX_WORKERS) {
    throw new CairnError('BAD_INPUT', `CAIRN_WORKERS must be a whole number from 1 to ${MAX_WORKERS}, got ${JSON.stringify(v)}`, {
      hint: 'Set CAIRN_WORKERS=4 (for example), or unset it to use --workers, config.json or the number of cores.',
    });
  }
  return n;
}
