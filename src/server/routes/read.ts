import type { FastifyInstance, FastifyReply } from 'fastify';
import { CairnError, diff, listCheckpoints, readHistory, showResources, showTask, stateAt, status, statusOf, type StateHandle } from '../../index.js';
import type { ServerContext } from '../context.js';
import { ANY_ARRAY, ID, OBJ, responses, STATUS, TASK_PARAMS, WORKSTREAM, WS_PARAMS } from '../schemas.js';

type WsParams = { ws: string };
type TaskParams = { ws: string; task: string };

/**
 * The read routes: status, workstreams, a task with its attempts and log tails, the DAG,
 * checkpoints, resources, workers. Each is a view the API computes; no rule of cairn lives here.
 */
export async function readRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  // The live handle's view (no scheduler liveness check: these views do not report it).
  const statusDoc = (h: StateHandle, o: { all?: boolean; workstreamId?: string }) =>
    statusOf(h.state, o, { seq: h.seq, source: h.source, warnings: [...h.warnings] });

  app.get<{ Querystring: { all?: boolean } }>('/api/v1/status', {
    schema: {
      summary: 'Workstreams (with tasks), workers, resources and the scheduler, as cairn status --json',
      querystring: { type: 'object', properties: { all: { type: 'boolean', description: 'include archived workstreams' } }, additionalProperties: false },
      response: responses(STATUS),
    },
    // The API's schemas carry no live Slurm state, so no route asks Slurm for one (squeue per request).
  }, async (req) => status({ stateDir: ctx.stateDir, all: req.query.all, slurmStates: false }));

  app.get<{ Querystring: { all?: boolean } }>('/api/v1/workstreams', {
    schema: {
      summary: 'Every workstream with its progress (counts by state); archived ones with all=true',
      querystring: { type: 'object', properties: { all: { type: 'boolean' } }, additionalProperties: false },
      response: responses({ type: 'object', properties: { seq: { type: 'integer' }, workstreams: { type: 'array', items: WORKSTREAM } } }),
    },
  }, async (req) => {
    const h = ctx.live.current();
    const s = statusDoc(h, { all: true });
    const ids = req.query.all ? h.state.workstreamIds() : s.workstreams.map((w) => w.id);
    const list = ids.map((id) => statusDoc(h, { workstreamId: id }).workstreams[0]!).map(({ tasks: _t, ...w }) => w)
      .sort((a, b) => a.submitted_at.localeCompare(b.submitted_at) || a.id.localeCompare(b.id));
    return { seq: h.seq, workstreams: list };
  });

  // The one view a dashboard re-reads most (every task of a big workstream): serialized once a seq.
  const cache = new Map<string, { seq: number; json: string }>();
  app.get<{ Params: WsParams }>('/api/v1/workstreams/:ws', {
    schema: {
      summary: 'One workstream (active or archived) with every task',
      params: WS_PARAMS,
      response: responses({ type: 'object', properties: { seq: { type: 'integer' }, workstream: WORKSTREAM } }),
    },
  }, async (req, reply) => {
    const h = ctx.live.current();
    const hit = cache.get(req.params.ws);
    if (hit && hit.seq === h.seq) return sendJson(reply, hit.json);
    const doc = { seq: h.seq, workstream: statusDoc(h, { workstreamId: req.params.ws }).workstreams[0]! };
    const json = String(reply.serialize(doc));
    if (cache.size > 64) cache.clear();
    cache.set(req.params.ws, { seq: h.seq, json });
    return sendJson(reply, json);
  });

  app.get<{ Params: TaskParams; Querystring: { lines?: number } }>('/api/v1/workstreams/:ws/tasks/:task', {
    schema: {
      summary: 'One task: definition, state, dependencies, every attempt (its history from the log) and the tail of each attempt\'s log',
      params: TASK_PARAMS,
      querystring: { type: 'object', properties: { lines: { type: 'integer', minimum: 1, maximum: 1000, default: 40 } }, additionalProperties: false },
      response: responses({ type: 'object', properties: { task: OBJ, dependencies: OBJ, history: OBJ, logs: ANY_ARRAY } }),
    },
  }, async (req) => {
    const o = { stateDir: ctx.stateDir, task: `${req.params.ws}/${req.params.task}` };
    const shown = await showTask({ ...o, includeLogs: true, logLines: req.query.lines, slurmStates: false });
    const history = await readHistory({ stateDir: ctx.stateDir, task: o.task });
    return { task: shown.task, dependencies: shown.dependencies, history, logs: (shown.logs ?? []).map(({ path: _p, ...l }) => l) };
  });

  app.get<{ Params: TaskParams; Querystring: { attempt?: number; lines?: number } }>('/api/v1/workstreams/:ws/tasks/:task/logs', {
    schema: {
      summary: 'The tail of a task\'s attempt logs (the last attempt unless attempt is given)',
      params: TASK_PARAMS,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { attempt: { type: 'integer', minimum: 1, maximum: 1000000 }, lines: { type: 'integer', minimum: 1, maximum: 10000, default: 200 } },
      },
      response: responses({ type: 'object', properties: { workstream_id: { type: 'string' }, task_id: { type: 'string' }, attempt: { type: ['integer', 'null'] }, lines: { type: 'array', items: { type: 'string' } }, attempts: { type: 'array', items: { type: 'integer' } } } }),
    },
  }, async (req) => {
    // The file is found by the API from the checked ids and an attempt number: no request text becomes a path.
    const shown = await showTask({ stateDir: ctx.stateDir, task: `${req.params.ws}/${req.params.task}`, includeLogs: true, logLines: req.query.lines, slurmStates: false });
    const logs = shown.logs ?? [];
    const pick = req.query.attempt === undefined ? logs.at(-1) : logs.find((l) => l.attempt === req.query.attempt);
    if (req.query.attempt !== undefined && !pick) {
      throw new CairnError('BAD_INPUT', `task ${shown.task.workstream_id}/${shown.task.id} has no log of attempt ${req.query.attempt}`, {
        details: { attempts: logs.map((l) => l.attempt) }, hint: `Logs exist for attempts: ${logs.map((l) => l.attempt).join(', ') || 'none yet'}`,
      });
    }
    return { workstream_id: shown.task.workstream_id, task_id: shown.task.id, attempt: pick?.attempt ?? null, lines: pick?.tail ?? [], attempts: logs.map((l) => l.attempt) };
  });

  app.get<{ Params: WsParams }>('/api/v1/workstreams/:ws/dag', {
    schema: {
      summary: 'The dependency graph: one node per task (with its state), one edge per dependency (from the dependency to the task)',
      params: WS_PARAMS,
      response: responses({
        type: 'object',
        properties: {
          seq: { type: 'integer' }, workstream_id: { type: 'string' }, state: { type: 'string' },
          nodes: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, state: { type: 'string' }, critical: { type: 'boolean' }, attempt: { type: 'integer' } } } },
          edges: { type: 'array', items: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' } } } },
        },
      }),
    },
  }, async (req) => {
    const h = ctx.live.current();
    const ws = statusDoc(h, { workstreamId: req.params.ws }).workstreams[0]!;
    const edges: { from: string; to: string }[] = [];
    for (const t of ws.tasks ?? []) for (const d of h.state.task(ws.id, t.id)?.depends_on ?? []) edges.push({ from: d, to: t.id });
    return { seq: h.seq, workstream_id: ws.id, state: ws.state, nodes: (ws.tasks ?? []).map((t) => ({ id: t.id, state: t.state, critical: t.critical, attempt: t.attempt })), edges };
  });

  app.get<{ Params: WsParams }>('/api/v1/workstreams/:ws/checkpoints', {
    schema: { summary: 'Every point of the workstream a rollback can go to (from the log), named ones, and the checkpoint files', params: WS_PARAMS, response: responses(OBJ) },
  }, async (req) => listCheckpoints({ stateDir: ctx.stateDir, workstream: req.params.ws }));

  app.get<{ Querystring: { resource?: string } }>('/api/v1/resources', {
    schema: { summary: 'Resources: limits, holders and waiting tasks', querystring: { type: 'object', properties: { resource: ID }, additionalProperties: false }, response: responses(OBJ) },
  }, async (req) => showResources({ stateDir: ctx.stateDir, resource: req.query.resource }));

  app.get('/api/v1/workers', {
    schema: { summary: 'Workers and the scheduler', response: responses({ type: 'object', properties: { seq: { type: 'integer' }, scheduler: { anyOf: [OBJ, { type: 'null' }] }, workers: ANY_ARRAY } }) },
  }, async () => {
    // status() checks the recorded scheduler's pid and start time: the log alone still says a killed one runs.
    const s = await status({ stateDir: ctx.stateDir, all: true, slurmStates: false });
    return { seq: s.seq, scheduler: s.scheduler, workers: s.workers };
  });

  // The history verbs (cairn state --at, cairn diff). A point is a seq, an ISO 8601 time, git:<rev>
  // or now, resolved by the same code as the CLI's (a git revision goes to git after
  // --end-of-options, never through a shell); an unknown point is UNKNOWN_POINT, 404.
  const POINT = { type: 'string', minLength: 1, maxLength: 256, pattern: '^[^\\x00-\\x1f]+$', description: 'a seq, an ISO 8601 time, git:<rev> or now' };
  app.get<{ Querystring: { at: string; workstream_id?: string; all?: boolean } }>('/api/v1/state', {
    schema: {
      summary: 'The state at a point in time, as cairn state --at <point> --json (what cairn status showed then)',
      querystring: { type: 'object', properties: { at: POINT, workstream_id: ID, all: { type: 'boolean' } }, required: ['at'], additionalProperties: false },
      response: responses(OBJ),
    },
  }, async (req) => stateAt({ stateDir: ctx.stateDir, at: req.query.at, workstreamId: req.query.workstream_id, all: req.query.all }));

  app.get<{ Querystring: { from: string; to?: string; workstream_id?: string } }>('/api/v1/diff', {
    schema: {
      summary: 'What changed between two points, as cairn diff <from> [<to>] --json (to defaults to now)',
      querystring: { type: 'object', properties: { from: POINT, to: POINT, workstream_id: ID }, required: ['from'], additionalProperties: false },
      response: responses(OBJ),
    },
  }, async (req) => diff({ stateDir: ctx.stateDir, from: req.query.from, to: req.query.to, workstreamId: req.query.workstream_id }));
}

function sendJson(reply: FastifyReply, json: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}
