import type { CommandModule } from 'yargs';
import { eventsCommand } from './events.js';
import { historyCommand } from './history.js';
import { logCommand } from './log.js';
import { metricsCommand } from './metrics.js';
import { showDependenciesCommand, showTaskCommand, statusCommand, submitCommand } from './basic.js';
import { initCommand, restoreCommand, validateCommand } from './state.js';
import { RECOVERY_COMMANDS } from './recovery/index.js';
import { runCommand } from './run.js';
import { gitSetupCommand, mergeDriverCommand } from './git.js';
import { diffCommand, stateCommand } from './history-state.js';
import { pruneCommand } from './prune.js';
import { logArchiveCommand } from './log-archive.js';
import { serveCommand } from './serve.js';

/** Every command of the CLI, in the order --help lists them. Registered explicitly (no commandDir). */
// Typed loosely (main.ts registers each as a CommandModule): the emitted declarations (package.json
// `types`) cannot name each command's own Args type.
export const COMMANDS = [
  runCommand,
  initCommand,
  submitCommand,
  statusCommand,
  showTaskCommand,
  showDependenciesCommand,
  eventsCommand,
  historyCommand,
  logCommand,
  metricsCommand,
  stateCommand,
  diffCommand,
  validateCommand,
  restoreCommand,
  pruneCommand,
  logArchiveCommand,
  gitSetupCommand,
  mergeDriverCommand,
  serveCommand,
  ...RECOVERY_COMMANDS,
] as readonly CommandModule[];
