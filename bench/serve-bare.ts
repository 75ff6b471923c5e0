import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

/**
 * The baseline of the serve-get benchmark: a bare fastify route that returns prepared JSON (the
 * file named by argv[2]) with no checks at all. Prints its port on stdout, serves until killed.
 */
const body = readFileSync(process.argv[2]!, 'utf8');
const app = Fastify({ logger: false });
app.get('/api/v1/workstreams/:ws', async (_req, reply) => reply.type('application/json; charset=utf-8').send(body));
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
process.stdout.write(`${typeof addr === 'object' && addr ? addr.port : 0}\n`);
