// The thread behind cairnSync (cli-sync.ts): it owns a pool of warm CLI servers and answers each
// request on its port, then wakes the test's main thread, which waits in Atomics.wait meanwhile.
import { type MessagePort, workerData } from 'node:worker_threads';
import { runWarm } from './cli-warm.js';

export interface SyncRequest {
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };

port.on('message', (req: SyncRequest) => {
  const answer = (m: unknown) => {
    port.postMessage(m);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  runWarm(req.args, req.cwd, req.env, req.timeoutMs).then(
    (r) => answer({ ok: r }),
    (e: unknown) => answer({ error: (e as Error)?.stack ?? String(e) }),
  );
});
