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

/** Every command of the CLI, in the order --help lists them. Registered explicitly (no commandDir). */
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
  gitSetupCommand,
  mergeDriverCommand,
  ...RECOVERY_COMMANDS,
];
