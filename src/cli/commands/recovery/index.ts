import type { CommandModule } from 'yargs';

/** The recovery tools' commands, registered by commands/index.ts after the core ones. */
export const RECOVERY_COMMANDS: CommandModule<never, never>[] = [];
