/**
 * stdout and stderr may go away under cairn (`cairn events | head -2`): like git, cairn then ends
 * quietly. A reader stops reading; `run` goes on to the end with nothing lost, only unseen.
 */

let closed = false;
const listeners = new Set<() => void>();

/**
 * Installs the handlers once: an error on stdout or stderr (EPIPE when the reader left) marks the
 * output closed instead of crashing the process with an unhandled 'error' event and a stack.
 */
export function guardStdio(): void {
  process.stdout.on('error', markClosed);
  process.stderr.on('error', () => { /* nowhere left to say anything; the exit code still tells */ });
}

function markClosed(): void {
  if (closed) return;
  closed = true;
  for (const f of listeners) f();
}

/** Whether stdout's reader has gone away. */
export function stdoutClosed(): boolean {
  return closed;
}

/** Calls `f` once when stdout's reader goes away; returns the unsubscribe function. */
export function onStdoutClosed(f: () => void): () => void {
  if (closed) {
    f();
    return () => {};
  }
  listeners.add(f);
  return () => listeners.delete(f);
}

/**
 * Writes `text` to stdout and waits until the system took it (backpressure for big outputs);
 * false when the reader has gone away, so a streaming command can stop reading.
 */
export function writeOut(text: string): Promise<boolean> {
  if (closed) return Promise.resolve(false);
  return new Promise((resolve) => {
    process.stdout.write(text, (err) => {
      if (err) markClosed();
      resolve(!closed);
    });
  });
}
