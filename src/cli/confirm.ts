import { CairnError } from '../index.js';

/**
 * Asks before a destructive change. On a terminal it prompts; otherwise `--yes` is required
 * (exit 2, nothing changed, when it is missing).
 */
export async function confirm(yes: boolean | undefined, question: string): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new CairnError('CONFIRMATION_REQUIRED', `${question.replace(/\?$/, '')}: this changes the state and needs confirmation`, {
      hint: 'Run it again with --yes (or from a terminal to be asked). Try --dry-run first to see what would change.',
    });
  }
  // Loaded here: only a prompt on a terminal needs readline.
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') {
      throw new CairnError('CONFIRMATION_REQUIRED', 'not confirmed; nothing was changed');
    }
  } finally {
    rl.close();
  }
}
