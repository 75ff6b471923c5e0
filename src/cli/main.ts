import yargs, { type Argv, type CommandModule } from 'yargs';
import { CairnError, VERSION } from '../index.js';
import { report } from './output.js';
import { COMMANDS } from './commands/index.js';
import { guardStdio } from './pipes.js';

/**
 * The `cairn` binary: global flags and exit codes of DESIGN §6; every command is one module in
 * commands/ that maps flags to one API verb and prints the result.
 */
export async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  guardStdio();
  let cli: Argv = yargs(argv)
    .scriptName('cairn')
    .usage('$0 <command> [options]\n\nA filesystem state-machine orchestrator: runs DAGs of shell tasks, records every change in .state/transitions.jsonl, and recovers from anything.')
    .option('state-dir', { type: 'string', describe: 'The state folder (env CAIRN_STATE_DIR)', default: undefined, defaultDescription: '.state', global: true })
    .option('json', { type: 'boolean', describe: 'Print one JSON document on stdout, nothing else', global: true })
    .option('yes', { type: 'boolean', describe: 'Do not ask for confirmation (required off a terminal for destructive actions)', global: true })
    .option('operator', { type: 'string', describe: 'Who acts, recorded on manual actions', defaultDescription: '$USER', global: true })
    .option('reason', { type: 'string', describe: 'Why, recorded on manual actions', global: true })
    .strict()
    .demandCommand(1, 'Name a command; cairn --help lists them.')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version('version', 'Print cairn\'s version and exit', VERSION)
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .epilogue('Exit codes: 0 done · 1 ran, outcome is a failure · 2 bad input, nothing changed · 3 state damaged, cairn refuses to write · 4 busy · 130 interrupted')
    .fail((msg, err) => {
      throw err ?? new CairnError('BAD_INPUT', msg, { hint: 'See cairn <command> --help' });
    });
  for (const c of COMMANDS) cli = cli.command(c as CommandModule);
  let code = 0;
  try {
    await cli.parseAsync();
    code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    code = report(e, json);
  }
  // Exit only once stdout and stderr are flushed: a pipe may still hold a large --json document.
  process.exitCode = code;
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
  process.exit(code);
}
