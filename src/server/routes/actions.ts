import type { FastifyInstance } from 'fastify';
import {
  CairnError, cancelTask, listBackupFiles, parseSpec, restoreState, resumeWorkstream, retryFailedTasks, retryTask, retryWorkstream,
  rollbackWorkstream, skipTask, submit,
} from '../../index.js';
import type { ServerContext } from '../context.js';
import { ACTION_RESULT, ANY_ARRAY, body, ERROR, ID, OBJ, TASK_PARAMS, WS_PARAMS } from '../schemas.js';

/** Body limits: a spec may be large (1,000 tasks), an action body is a few fields. */
export const SPEC_LIMIT = 1024 * 1024;
export const ACTION_LIMIT = 64 * 1024;

interface Common { reason?: string; dry_run?: boolean; operator?: string }
type TaskParams = { ws: string; task: string };
type WsParams = { ws: string };

const answers = (ok: object) => ({ 200: ok, 201: ok, '4xx': ERROR, '5xx': ERROR });

/**
 * The actions: each calls the same API verb as the CLI's tool, so it decides, dry-runs and records
 * exactly as the tool does; the operator is the body's `operator` (a name the person gave; the
 * token is what authorises), else the token's owner (see ServerContext), and `reason` the body's. POST only, JSON only; a dry run answers 200 with the records it would append, a real
 * action 201 with the records appended (200 when there was nothing to do).
 */
export async function actionRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const who = (b: Common) => ({ stateDir: ctx.stateDir, operator: b.operator ?? ctx.operator, ...(b.reason !== undefined ? { reason: b.reason } : {}), dryRun: b.dry_run === true });
  const opts = (summary: string, schema: object, params?: object) => ({
    bodyLimit: ACTION_LIMIT,
    schema: { summary, ...(params ? { params } : {}), body: schema, response: answers(ACTION_RESULT) },
  });
  const done = <T extends { changed?: boolean; dry_run?: boolean }>(r: T, reply: import('fastify').FastifyReply) => {
    reply.code(r.dry_run || r.changed === false ? 200 : 201);
    return r;
  };

  app.post<{ Body: Common & { spec: Record<string, unknown> } }>('/api/v1/workstreams', {
    bodyLimit: SPEC_LIMIT,
    schema: {
      summary: 'Submit a workstream spec (as cairn submit): validated, then recorded with its first tasks queued',
      body: body({ spec: { ...OBJ, description: 'the workstream spec (schemas/workstream.schema.json)' } }, ['spec']),
      response: answers({ type: 'object', properties: { dry_run: { type: 'boolean' }, workstream_id: { type: 'string' }, tasks: { type: 'integer' }, queued: { type: 'array', items: { type: 'string' } }, records: ANY_ARRAY } }),
    },
  }, async (req, reply) => {
    // Checked by the spec's own schema and rules, with JSON paths, as a spec file is.
    const spec = parseSpec(JSON.stringify(req.body.spec), 'the request body\'s spec');
    const r = await submit({ ...who(req.body), spec });
    reply.code(r.dry_run ? 200 : 201);
    return { dry_run: r.dry_run === true, workstream_id: r.workstream_id, tasks: r.tasks, queued: r.queued, records: r.records };
  });

  const task = (p: TaskParams) => ({ task: `${p.ws}/${p.task}` });

  app.post<{ Params: TaskParams; Body: Common & { timeout_seconds?: number; max_retries?: number; reset_retries?: boolean } }>('/api/v1/workstreams/:ws/tasks/:task/retry', opts(
    'Retry a task (as cairn retry-task)',
    body({ timeout_seconds: { type: 'number', exclusiveMinimum: 0 }, max_retries: { type: 'integer', minimum: 0 }, reset_retries: { type: 'boolean' } }),
    TASK_PARAMS,
  ), async (req, reply) => done(await retryTask({ ...who(req.body), ...task(req.params), timeoutSeconds: req.body.timeout_seconds, maxRetries: req.body.max_retries, resetRetries: req.body.reset_retries }), reply));

  app.post<{ Params: TaskParams; Body: Common }>('/api/v1/workstreams/:ws/tasks/:task/skip', opts(
    'Skip a task so its dependents proceed (as cairn skip-task; needs a reason)', body({}, ['reason']), TASK_PARAMS,
  ), async (req, reply) => done(await skipTask({ ...who(req.body), ...task(req.params) }), reply));

  app.post<{ Params: TaskParams; Body: Common & { cascade?: boolean } }>('/api/v1/workstreams/:ws/tasks/:task/cancel', opts(
    'Cancel a task (as cairn cancel-task); with cascade its dependents too', body({ cascade: { type: 'boolean' } }), TASK_PARAMS,
  ), async (req, reply) => done(await cancelTask({ ...who(req.body), ...task(req.params), cascade: req.body.cascade }), reply));

  app.post<{ Params: WsParams; Body: Common & { failed_only?: boolean; reset_retries?: boolean } }>('/api/v1/workstreams/:ws/retry', opts(
    'Retry a workstream (as cairn retry-workstream), or only its failed tasks with failed_only (as cairn retry-failed-tasks)',
    body({ failed_only: { type: 'boolean' }, reset_retries: { type: 'boolean', description: 'with failed_only' } }), WS_PARAMS,
  ), async (req, reply) => {
    const b = req.body;
    if (b.reset_retries !== undefined && !b.failed_only) throw new CairnError('BAD_INPUT', 'reset_retries goes with failed_only (a workstream retry always starts the retry budgets over)', { hint: '{"failed_only": true, "reset_retries": true}' });
    const r = b.failed_only
      ? await retryFailedTasks({ ...who(b), workstream: req.params.ws, resetRetries: b.reset_retries })
      : await retryWorkstream({ ...who(b), workstream: req.params.ws });
    return done(r, reply);
  });

  app.post<{ Params: WsParams; Body: Common & { from_task?: string; params?: Record<string, string> } }>('/api/v1/workstreams/:ws/resume', opts(
    'Resume a workstream after a manual fix (as cairn resume-workstream), from a task and with changed params',
    body({ from_task: ID, params: { type: 'object', maxProperties: 100, propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' }, additionalProperties: { type: 'string', maxLength: 4096 } } }),
    WS_PARAMS,
  ), async (req, reply) => done(await resumeWorkstream({ ...who(req.body), workstream: req.params.ws, fromTask: req.body.from_task, params: req.body.params }), reply));

  app.post<{ Params: WsParams; Body: Common & { to_checkpoint?: string } }>('/api/v1/workstreams/:ws/rollback', opts(
    'Roll a workstream back to a checkpoint (as cairn rollback-workstream): latest, a seq, or a checkpoint\'s name',
    body({ to_checkpoint: { type: 'string', pattern: '^(latest|[0-9]{1,15}|[A-Za-z0-9][A-Za-z0-9._-]{0,127})$' } }),
    WS_PARAMS,
  ), async (req, reply) => done(await rollbackWorkstream({ ...who(req.body), workstream: req.params.ws, toCheckpoint: req.body.to_checkpoint }), reply));

  app.post<{ Body: Common & { from_backup?: string; from_transitions?: boolean } }>('/api/v1/restore', {
    bodyLimit: ACTION_LIMIT,
    schema: {
      summary: 'Rebuild the derived files (as cairn restore-state): from the state\'s own log (from_transitions: true) or from a backup (latest, or a name from cairn backups)',
      body: body({ from_backup: { type: 'string', pattern: '^(latest|current_[0-9TZ.-]+_[0-9]+\\.json)$' }, from_transitions: { type: 'boolean', const: true } }),
      response: answers({ type: 'object', properties: { dry_run: { type: 'boolean' }, source: { type: 'string' }, changes: ANY_ARRAY, seq: { type: 'integer' }, replaced_log: { type: ['string', 'null'] }, kept_snapshot: { type: ['string', 'null'] }, warnings: { type: 'array', items: { type: 'string' } }, git_commit: OBJ } }),
    },
  }, async (req, reply) => {
    const b = req.body;
    if ((b.from_backup === undefined) === (b.from_transitions === undefined)) {
      throw new CairnError('BAD_INPUT', 'give exactly one of from_backup and from_transitions', { hint: '{"from_transitions": true} or {"from_backup": "latest"}' });
    }
    // Only this state folder's own files: a request never names a path of its own.
    let fromBackup: string | undefined;
    if (b.from_backup !== undefined && b.from_backup !== 'latest') {
      const { backups } = await listBackupFiles({ stateDir: ctx.stateDir });
      const found = backups.find((x) => x.file === b.from_backup);
      if (!found) throw new CairnError('BAD_INPUT', `no backup ${b.from_backup}`, { details: { closest: backups.slice(0, 5).map((x) => x.file) }, hint: 'GET the list with cairn backups --json, or use "latest".' });
      // The full path: a bare name would first be looked for in the server's working folder.
      fromBackup = `${ctx.stateDir}/backups/${found.file}`;
    } else fromBackup = b.from_backup;
    const r = await restoreState({
      ...who(b),
      ...(fromBackup !== undefined ? { fromBackup } : { fromTransitions: `${ctx.stateDir}/transitions.jsonl` }),
    });
    reply.code(r.dry_run ? 200 : 201);
    return r;
  });
}
