/**
 * What the OS lets one process be started with (execve). Linux refuses with E2BIG a single argument
 * or NAME=value string longer than MAX_ARG_STRLEN (32 pages, 128 KiB, its NUL included), and
 * arguments plus environment larger than ARG_MAX (a quarter of the 8 MiB default stack: 2 MiB,
 * counting each string with its NUL and a pointer to it). The spec check refuses a task that cannot
 * fit these whatever cairn inherits; the environment cairn itself was started with counts too at spawn
 * time, and a task that is still too large then fails its attempt with spawn_error E2BIG.
 */

/** Linux's limit on one argument or one NAME=value string, its NUL included (bytes). */
export const MAX_ARG_STRLEN = 128 * 1024;

/** Linux's limit on all arguments and environment strings of a process, with 8 MiB of stack (bytes). */
export const ARG_MAX = 2 * 1024 * 1024;

/** Bytes of a pointer in argv/envp, which ARG_MAX counts besides the strings. */
const POINTER_BYTES = 8;

/** One string a task's process would be started with, and where it comes from in the spec. */
export interface ExecString {
  /** A JSON path into the spec ($.params.blob, $.tasks[0].env.X, $.tasks[0].command[1]). */
  path: string;
  /** The string exactly as execve gets it (`NAME=value` for the environment). */
  text: string;
}

/** A string or a whole start that the OS would refuse. */
export interface ExecProblem {
  path: string;
  message: string;
}

/** Bytes execve copies for `text`: UTF-8 and its NUL. */
export function execStringBytes(text: string): number {
  return utf8Length(text) + 1;
}

/**
 * The problems of starting one process with `strings`: each too-long string at its own path, and
 * the whole at `wholePath` when the total passes ARG_MAX.
 */
export function execProblems(strings: readonly ExecString[], wholePath: string): ExecProblem[] {
  const out: ExecProblem[] = [];
  let total = 0;
  for (const s of strings) {
    const n = execStringBytes(s.text);
    total += n + POINTER_BYTES;
    if (n > MAX_ARG_STRLEN) {
      out.push({ path: s.path, message: `is ${n} bytes as passed to the process, over the OS limit of ${MAX_ARG_STRLEN} bytes (128 KiB, Linux MAX_ARG_STRLEN) for one argument or environment variable; pass large data in a file and its path instead` });
    }
  }
  if (total > ARG_MAX) {
    out.push({ path: wholePath, message: `its arguments and environment come to ${total} bytes, over the OS limit of ${ARG_MAX} bytes (2 MiB, Linux ARG_MAX) for starting a process; pass large data in files instead` });
  }
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
