import { CairnError, type ErrorCode, EXIT, exitCodeFor, fromSystemError } from '../index.js';

/** The JSON body of every error the server sends: the CLI's error document (code, message, details, hint). */
export interface ErrorBody {
  ok: false;
  error: { code: string; message: string; details: Record<string, unknown>; hint: string | null };
  /** The exit code the CLI ends with for the same error (absent for errors only HTTP has). */
  exit_code?: number;
}

/**
 * The HTTP status of a CairnError, from the CLI's exit classes: bad input 400 (an unknown id 404, a
 * request the state does not allow 409), damaged state 503 (the hint names the repair), busy 409.
 */
export function statusFor(code: ErrorCode): number {
  switch (code) {
    case 'UNKNOWN_WORKSTREAM':
    case 'UNKNOWN_TASK':
    case 'UNKNOWN_WORKER':
    case 'UNKNOWN_RESOURCE':
    case 'UNKNOWN_CHECKPOINT':
    case 'UNKNOWN_POINT':
      return 404;
    // The point was moved out of the folder (log-archive): it existed, and is not here now.
    case 'HISTORY_GONE':
      return 410;
    case 'DUPLICATE_WORKSTREAM':
    case 'DUPLICATE_NAME':
    case 'ILLEGAL_TRANSITION':
    case 'ILLEGAL_REQUEST':
    case 'AMBIGUOUS_TASK':
    case 'NO_SCHEDULER':
    case 'MERGE_CONFLICT':
      return 409;
    case 'BAD_INPUT':
    case 'SCHEMA_INVALID':
    case 'BAD_ID':
    case 'DAG_CYCLE':
    case 'CONFIRMATION_REQUIRED':
      return 400;
    // The state folder itself is missing, unsafe or unreadable: nothing a request body can fix.
    case 'NOT_INITIALIZED':
    case 'UNSAFE_PATH':
    case 'PERMISSION_DENIED':
    case 'LOG_CORRUPT':
    case 'LOG_INVALID':
    case 'LOG_MERGE_CONFLICT':
    case 'SNAPSHOT_INVALID':
      return 503;
    case 'STATE_LOCKED':
    case 'SCHEDULER_RUNNING':
      return 409;
    case 'LOCK_COMPROMISED':
    case 'LOG_REPLACED':
    case 'IO_ERROR':
    case 'WORKERS_FAILING':
    case 'INTERNAL':
      return 500;
    // The Slurm executor's: the cluster's programs are missing, or its nodes cannot see the folder.
    case 'SLURM_UNAVAILABLE':
    case 'STATE_NOT_SHARED':
      return 503;
    default:
      return ((x: never) => { throw new CairnError('INTERNAL', `no HTTP status for ${String(x)}`); })(code);
  }
}

/** An error of the HTTP layer alone (no token, a foreign Host, a body too large): its own code, no exit code. */
export function httpError(code: string, message: string, hint: string | null = null, details: Record<string, unknown> = {}): ErrorBody {
  return { ok: false, error: { code, message, details, hint } };
}

/** The status and body for anything a handler threw. */
export function errorReply(e: unknown): { status: number; body: ErrorBody } {
  const fe = e as { statusCode?: number; code?: string; validation?: unknown[]; validationContext?: string; message?: string };
  if (Array.isArray(fe?.validation)) {
    const errors = fe.validation.map((v) => {
      const x = v as { instancePath?: string; message?: string; params?: Record<string, unknown> };
      return { path: `${fe.validationContext ?? 'body'}${x.instancePath || ''}`, message: x.message ?? 'is invalid', ...(x.params?.additionalProperty ? { field: x.params.additionalProperty } : {}) };
    });
    return {
      status: 400,
      body: { ok: false, error: { code: 'BAD_INPUT', message: `the request is invalid: ${errors.map((x) => `${x.path}${'field' in x ? `/${String(x.field)}` : ''} ${x.message}`).join('; ')}`, details: { errors }, hint: 'See the route\'s schema in /api/v1/openapi.json.' }, exit_code: EXIT.BAD_INPUT },
    };
  }
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, body: httpError('BODY_TOO_LARGE', 'the request body is larger than this route accepts', 'Send a smaller body (a spec up to 1 MiB, an action up to 64 KiB).') };
  if (fe?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, body: httpError('UNSUPPORTED_MEDIA_TYPE', 'a request body must be JSON (Content-Type: application/json)', 'Send Content-Type: application/json.') };
  if (typeof fe?.code === 'string' && fe.code.startsWith('FST_ERR_CTP_')) return { status: 400, body: httpError('BAD_INPUT', `the body is not valid JSON: ${fe.message ?? ''}`, 'Send one JSON object.') };
  if (typeof fe?.code === 'string' && fe.code.startsWith('FST_ERR_') && typeof fe.statusCode === 'number' && fe.statusCode < 500) {
    // The router's own refusals (a parameter too long for any id, a malformed URL): bad input.
    return { status: fe.statusCode, body: { ...httpError('BAD_INPUT', `the request is invalid (${fe.code.slice(8).toLowerCase().replace(/_/g, ' ')})`, 'Ids match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$; see /api/v1/openapi.json.'), exit_code: EXIT.BAD_INPUT } };
  }
  const err = e instanceof CairnError ? e : fromSystemError(e) ?? new CairnError('INTERNAL', `unexpected error: ${(e as Error)?.message ?? String(e)}`, {
    hint: 'This is a bug in cairn; the state was not changed by this failure. Please report it with the output of cairn validate-state.',
  });
  // The stack stays in the server: a browser has no use for it.
  const { stack: _s, ...details } = err.details;
  return { status: statusFor(err.code), body: { ok: false, error: { code: err.code, message: err.message, details, hint: err.hint ?? null }, exit_code: exitCodeFor(err.code) } };
}
