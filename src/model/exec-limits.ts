/**
 * What the OS lets one process be started with (execve). Linux refuses with E2BIG a single argument
 * or NAME=value string longer than MAX_ARG_STRLEN (32 pages, 128 KiB, its NUL included), and
 * arguments plus environment larger than ARG_MAX (a quarter of the 8 MiB default stack: 2 MiB,
 * counting each string with its NUL and a pointer to it). The spec check refuses a task that cannot
 * fit these whatever cairn inherits; the environment cairn itself was started with counts too at spawn
 * time, and a task that is still too large then fails its attempt with spawn_error E2BIG.
 */
import { jsonPath, type Problem } from '../schemas/ajv.js';
import { paramEnvName } from './ids.js';

/** Linux's limit on one argument or one NAME=value string, its NUL included (bytes). */
export const MAX_ARG_STRLEN = 128 * 1024;

/** Linux's limit on all arguments and environment strings of a process, with 8 MiB of stack (bytes). */
export const ARG_MAX = 2 * 1024 * 1024;

/** Bytes of a pointer in argv/envp, which ARG_MAX counts besides the strings. */
const POINTER_BYTES = 8;

type Obj = Record<string, unknown>;

/** One string a task's process is started with, and where it comes from in the spec. */
interface ExecString {
  /** A JSON path into the spec ($.params.blob, $.tasks[0].env.X, $.tasks[0].command[1]). */
  path: string;
  /** Bytes execve copies for it: the string (`NAME=value` for the environment) in UTF-8, and its NUL. */
  bytes: number;
  /** The variable it becomes, when that is not plain from the path (CAIRN_PARAM_<NAME>). */
  as?: string;
}

/** Bytes execve copies for `text`: UTF-8 and its NUL. */
export function execStringBytes(text: string): number {
  return utf8Length(text) + 1;
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Scalars as the spec turns them into strings (3 -> "3"); anything else is the schema's to refuse. */
function text(v: unknown): string | null {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
}

function envStrings(env: unknown, at: (string | number)[]): ExecString[] {
  if (!isObj(env)) return [];
  return Object.entries(env).flatMap(([k, v]) => {
    const t = text(v);
    return t === null ? [] : [{ path: jsonPath([...at, k]), bytes: execStringBytes(`${k}=${t}`) }];
  });
}

/** argv of a command: a string runs as /bin/sh -c <command>. */
function argvStrings(command: unknown, at: (string | number)[]): ExecString[] {
  if (typeof command === 'string') {
    const path = jsonPath(at);
    return [{ path, bytes: execStringBytes('/bin/sh') }, { path, bytes: execStringBytes('-c') }, { path, bytes: execStringBytes(command) }];
  }
  if (!Array.isArray(command)) return [];
  return command.flatMap((a, k) => (typeof a === 'string' ? [{ path: jsonPath([...at, k]), bytes: execStringBytes(a) }] : []));
}

function total(strings: readonly ExecString[]): number {
  let n = 0;
  for (const s of strings) n += s.bytes + POINTER_BYTES;
  return n;
}

function tooLong(s: ExecString): Problem {
  return { path: s.path, message: `${s.as === undefined ? '' : `as ${s.as} it `}is ${s.bytes} bytes as passed to a process, over the OS limit of ${MAX_ARG_STRLEN} bytes (128 KiB, Linux MAX_ARG_STRLEN) for one argument or environment variable; pass large data in a file and its path instead` };
}

function tooMuch(path: string, what: string, bytes: number): Problem {
  return { path, message: `${what} come to ${bytes} bytes, over the OS limit of ${ARG_MAX} bytes (2 MiB, Linux ARG_MAX) for starting a process; pass large data in files instead` };
}

/**
 * Params, env values and commands that no process could be started with: each string over
 * MAX_ARG_STRLEN at its own path, and each task whose arguments and environment (params, env,
 * CAIRN_* variables, the larger of command and validate) pass ARG_MAX. Params and defaults.env that
 * alone pass it are reported once, at $.params.
 */
export function checkExecLimits(spec: Obj): Problem[] {
  const out: Problem[] = [];
  const params = isObj(spec.params)
    ? Object.entries(spec.params).flatMap(([k, v]) => {
      const t = text(v);
      return t === null ? [] : [{ path: jsonPath(['params', k]), bytes: execStringBytes(`${paramEnvName(k)}=${t}`), as: paramEnvName(k) }];
    })
    : [];
  const defaults = isObj(spec.defaults) ? spec.defaults : {};
  const shared = [...params, ...envStrings(defaults.env, ['defaults', 'env'])];
  for (const s of shared) if (s.bytes > MAX_ARG_STRLEN) out.push(tooLong(s));
  const sharedTotal = total(shared);
  if (sharedTotal > ARG_MAX) out.push(tooMuch('$.params', 'the params and defaults.env, passed to every task,', sharedTotal));
  if (!Array.isArray(spec.tasks)) return out;
  // Every task also gets these; the longest ids and attempt numbers are assumed.
  const cairnVars = ['CAIRN_WORKSTREAM_ID', 'CAIRN_TASK_ID', 'CAIRN_ATTEMPT'].reduce((n, k) => n + execStringBytes(`${k}=`) + 128 + POINTER_BYTES, 0);
  spec.tasks.forEach((t, i) => {
    if (!isObj(t)) return;
    const own = envStrings(t.env, ['tasks', i, 'env']);
    const command = argvStrings(t.command, ['tasks', i, 'command']);
    const validate = argvStrings(t.validate, ['tasks', i, 'validate']);
    for (const s of [...own, ...command, ...validate]) if (s.bytes > MAX_ARG_STRLEN) out.push(tooLong(s));
    if (sharedTotal > ARG_MAX) return;
    const bytes = sharedTotal + total(own) + cairnVars + Math.max(total(command), total(validate));
    if (bytes > ARG_MAX) out.push(tooMuch(jsonPath(['tasks', i]), 'its arguments and environment (params, env, command)', bytes));
  });
  return out;
}

/** UTF-8 length without Buffer (the model imports no Node modules). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4; // a surrogate pair is one 4-byte character
      i++;
    } else n += 3; // the rest of the BMP, and a lone surrogate (written as U+FFFD)
  }
  return n;
}
