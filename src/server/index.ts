import { CairnError, type CommonOptions, operatorOf, serveToken, stateDirOf } from '../index.js';
import { buildApp } from './app.js';
import { Live } from './live.js';
import { isLoopback, LOOPBACK_NAMES } from './security.js';

export interface ServeOptions extends CommonOptions {
  /** Interface to bind; 127.0.0.1 by default. Anything else is reachable from other machines. */
  host?: string;
  /** 7070 by default; 0 takes a free port (tests). */
  port?: number;
  /** More names the Host header may carry (a name of this machine that other machines use). */
  allowHosts?: string[];
}

export interface RunningServer {
  /** The dashboard's address with the token in its query, as Jupyter's: the server trades it at once for a cookie and a redirect to a URL without it. */
  url: string;
  /** The address without the token. */
  origin: string;
  port: number;
  host: string;
  /** Whether the token was made now (it is printed only then, as Jupyter does); else it is in `tokenFile`. */
  tokenCreated: boolean;
  tokenFile: string;
  token: string;
  warnings: string[];
  close(): Promise<void>;
}

/**
 * `cairn serve`: the HTTP API, the dashboard and the metrics over one state folder. Reads with a
 * handle that never takes the lock (so it runs beside `cairn run`), acts through the same verbs
 * as the CLI. Needs no scheduler.
 */
export async function serve(o: ServeOptions): Promise<RunningServer> {
  const stateDir = stateDirOf(o);
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? 7070;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CairnError('BAD_INPUT', `--port must be a whole number from 0 to 65535, got ${String(o.port)}`, { hint: 'cairn serve --port 7070' });
  for (const h of o.allowHosts ?? []) {
    if (!/^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$/.test(h)) throw new CairnError('BAD_INPUT', `--allow-host must be a host name or address without a port, got ${JSON.stringify(h)}`, { hint: 'cairn serve --host 0.0.0.0 --allow-host build-box.example.com' });
  }
  const { token, created, file } = serveToken({ stateDir });
  const live = await Live.open(stateDir);
  const warnings: string[] = [];
  const bracket = (h: string) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);
  const hosts = [...LOOPBACK_NAMES, ...(isLoopback(host) || host === '0.0.0.0' || host === '::' ? [] : [bracket(host)]), ...(o.allowHosts ?? [])].map((h) => h.toLowerCase());
  if (!isLoopback(host)) {
    warnings.push(`listening on ${host}, not only this machine: anyone who can reach it and has the token controls this state folder's tasks (the traffic is plain HTTP; put it behind a TLS proxy)`);
  }
  let bound = port;
  const { app } = await buildApp({ live, stateDir, operator: operatorOf(o) }, { token, hosts, port: () => bound });
  try {
    await app.listen({ host, port });
  } catch (e) {
    await app.close();
    await live.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CairnError('BAD_INPUT', `port ${port} on ${host} is in use`, { hint: 'Pick another: cairn serve --port 7071 (or --port 0 for any free one)' });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new CairnError('BAD_INPUT', `cannot listen on ${host}: no such address on this machine`, { hint: 'cairn serve --host 127.0.0.1' });
    throw e;
  }
  const addr = app.server.address();
  bound = typeof addr === 'object' && addr ? addr.port : port;
  const shown = isLoopback(host) || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : bracket(host);
  const origin = `http://${shown}:${bound}`;
  return {
    url: `${origin}/?token=${token}`,
    origin, port: bound, host, token, tokenCreated: created, tokenFile: file, warnings,
    close: async () => {
      await app.close();
      await live.close();
    },
  };
}
