import { watch } from 'chokidar';
import { status, type StatusOptions } from '../index.js';
import { renderStatus } from './render.js';

/**
 * `cairn status --watch`: redraws the status in place whenever the state folder changes (chokidar),
 * and at least every second, since a change event can be missed. Ends on Ctrl-C.
 */
export async function watchStatus(o: StatusOptions): Promise<void> {
  const dir = o.stateDir ?? '.state';
  let pending = false;
  const draw = async () => {
    if (pending) return;
    pending = true;
    try {
      const s = await status(o);
      const text = renderStatus(s);
      if (process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J' + text + '\n\n(watching; Ctrl-C to stop)\n');
      else process.stdout.write(text + '\n\n');
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
  });
  clearInterval(timer);
  await watcher.close();
}
