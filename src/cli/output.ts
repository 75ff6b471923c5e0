import { CairnError, EXIT, exitCodeFor, fromSystemError } from '../index.js';

/** Global flags every command takes (DESIGN §6). */
export interface GlobalArgs {
  'state-dir'?: string;
  json?: boolean;
  yes?: boolean;
  operator?: string;
  reason?: string;
}

/** The CommonOptions of the API from the global flags. */
export function common(a: GlobalArgs) {
  return {
    stateDir: a['state-dir'] ?? process.env.CAIRN_STATE_DIR ?? '.state',
    ...(a.operator !== undefined ? { operator: a.operator } : {}),
    ...(a.reason !== undefined ? { reason: a.reason } : {}),
  };
}

/** Prints the result: one JSON document with --json, else the human text. */
export function emit(a: GlobalArgs, doc: unknown, human: () => string): void {
  if (a.json) process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  else {
    const text = human();
    if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }
}

/** Notes about ignored files and set-aside tails go to stderr, never into --json output. */
export function warn(lines: readonly string[]): void {
  for (const l of lines) process.stderr.write(`warning: ${l}\n`);
}

/** Prints an error with its hint and returns the exit code it deserves. */
export function report(e: unknown, json: boolean): number {
  const err = e instanceof CairnError ? e : fromSystemError(e) ?? new CairnError('INTERNAL', `unexpected error: ${(e as Error)?.message ?? String(e)}`, {
    hint: 'This is a bug in cairn; the state was not changed by this failure. Please report it with the output of cairn validate-state.',
    details: { stack: (e as Error)?.stack?.split('\n').slice(0, 6).join('\n') ?? null },
  });
  const code = exitCodeFor(err.code);
  if (json) process.stdout.write(JSON.stringify({ ok: false, error: err.toJSON(), exit_code: code }, null, 2) + '\n');
  process.stderr.write(`error [${err.code}]: ${err.message}\n`);
  const problems = err.details.errors;
  if (Array.isArray(problems)) {
    for (const p of problems.slice(0, 50)) process.stderr.write(`  ${(p as { path?: string }).path ?? ''}: ${(p as { message?: string }).message ?? JSON.stringify(p)}\n`);
    if (problems.length > 50) process.stderr.write(`  … and ${problems.length - 50} more\n`);
  }
  if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
  if (err.code === 'INTERNAL' && err.details.stack && process.env.CAIRN_DEBUG) process.stderr.write(`${String(err.details.stack)}\n`);
  return code;
}

export { EXIT };

/** A table with left-aligned columns. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  // A loop, not Math.max(...column): spreading a long column into a call overflows the stack.
  const widths = rows[0]!.map(() => 0);
  for (const r of rows) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? '').length);
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
