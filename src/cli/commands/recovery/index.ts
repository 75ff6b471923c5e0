import type { CommandModule } from 'yargs';
import { recoverCommand } from './recover.js';
import { RESOURCE_COMMANDS } from './resources.js';
import { NAMED_COMMANDS } from './named.js';
import { STATE_COMMANDS } from './state.js';
import { TASK_COMMANDS } from './task.js';
import { UPDATE_COMMANDS } from './update.js';
import { WORKER_COMMANDS } from './workers.js';
import { WORKSTREAM_COMMANDS } from './workstream.js';

/** The recovery tools' commands, registered by commands/index.ts after the core ones. */
export const RECOVERY_COMMANDS = [
  ...TASK_COMMANDS,
  ...UPDATE_COMMANDS,
  ...WORKSTREAM_COMMANDS,
  recoverCommand,
  ...WORKER_COMMANDS,
  ...RESOURCE_COMMANDS,
  ...STATE_COMMANDS,
  ...NAMED_COMMANDS,
] as unknown as CommandModule<never, never>[];
