import type { CommandModule } from 'yargs';
import { serve } from '../../index.js';
import { common, type GlobalArgs, warn } from '../output.js';

interface ServeArgs extends GlobalArgs { host: string; port: number; 'allow-host'?: string[] }

export const serveCommand: CommandModule<GlobalArgs, ServeArgs> = {
  command: 'serve',
  describe: 'Serve the HTTP API (/api/v1), the live web dashboard (/) and Prometheus metrics (/metrics) for the state folder, until Ctrl-C; needs no scheduler',
  builder: (y) => y
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'interface to listen on; anything but loopback is reachable from other machines (a warning says so)' })
    .option('port', { type: 'number', default: 7070, describe: 'port to listen on (0: any free port)' })
    .option('allow-host', { type: 'string', array: true, describe: 'another name the Host header may carry (a name other machines use for this one); loopback names are always allowed' })
    .example('$0 serve', 'open the printed URL (it holds the token) in a browser')
    .example('curl -H "Authorization: Bearer $(cat .state/serve-token)" http://127.0.0.1:7070/api/v1/status', 'the API from a script')
    .epilogue('Every route but /healthz needs the token, from serve-token in the state folder (0600, made on first use, printed once inside the URL /?token=...). A browser opening that URL gets a cookie (HttpOnly, SameSite=Strict) and a redirect to a URL without the token; the cookie lets it read. Scripts send Authorization: Bearer <token>. Actions are POST with a JSON body ({"reason": "...", "operator": "...", "dry_run": true, ...}) and always need the header, never only the cookie.\n'
      + 'Exit codes: 0 stopped by Ctrl-C or SIGTERM · 2 bad flags, a port in use, no state folder · 3 the log is damaged') as never,
  handler: async (a) => {
    const s = await serve({ ...common(a), host: a.host, port: a.port, allowHosts: a['allow-host'] });
    warn(s.warnings);
    const doc = { url: s.tokenCreated ? s.url : `${s.origin}/`, origin: s.origin, port: s.port, host: s.host, token_file: s.tokenFile, token_created: s.tokenCreated };
    if (a.json) process.stdout.write(JSON.stringify(doc) + '\n');
    else {
      process.stdout.write(`cairn serve: ${s.origin}/ (API ${s.origin}/api/v1, metrics ${s.origin}/metrics)\n`);
      // The token is shown once, when it is made (as Jupyter does); later it is in the file.
      process.stdout.write(s.tokenCreated
        ? `open the dashboard (this URL holds the token; keep it private):\n    ${s.url}\n`
        : `the token is in ${s.tokenFile}; open ${s.origin}/?token=<token>\n`);
      process.stdout.write('Ctrl-C to stop\n');
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await s.close();
  },
};
