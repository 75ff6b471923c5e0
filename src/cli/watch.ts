import { watch } from 'chokidar';
import { status, type StatusOptions } from '../index.js';
import { onStdoutClosed, stdoutClosed } from './pipes.js';
import { LiveView } from './progress.js';
import { renderStatus } from './render.js';

/**
 * `cairn status --watch`: redraws the status in place whenever the state folder changes (chokidar),
 * and at least every second, since a change event can be missed. Ends on Ctrl-C, or quietly when
 * stdout's reader goes away (`cairn status --watch | head`).
 */
export async function watchStatus(o: StatusOptions): Promise<void> {
  const dir = o.stateDir ?? '.state';
  let pending = false;
  // On a terminal: the same live view as `cairn run`; otherwise the full status on each change.
  const view = process.stdout.isTTY ? new LiveView(process.stdout) : null;
  const draw = async () => {
    if (pending || stdoutClosed()) return;
    pending = true;
    try {
      // The terminal's live view shows no Slurm states: no squeue for it on every redraw.
      const s = await status({ ...o, slurmStates: view === null });
      if (view) view.draw(s);
      else process.stdout.write(renderStatus(s) + '\n\n');
    } catch (e) {
      process.stderr.write(`status: ${(e as Error).message}\n`);
    } finally {
      pending = false;
    }
  };
  const watcher = watch(dir, { ignoreInitial: true, depth: 0, ignored: (p: string) => p.includes('.lock') || /\.tmp-/.test(p) });
  watcher.on('all', () => void draw());
  const timer = setInterval(() => void draw(), 1000);
  await draw();
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    onStdoutClosed(stop);
  });
  clearInterval(timer);
  await watcher.close();
}
