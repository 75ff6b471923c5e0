import { constants } from 'node:os';
import type { Command, TaskOutcome } from '../../model/types.js';
import type { RunRequest } from '../protocol.js';

/*
 * The batch script of one attempt, and the exit file it leaves.
 *
 * The script runs the command (and, when it exits 0, the validate command) in the background and
 * waits, so a TERM from scancel reaches the batch shell, which passes it on to the command's own
 * process group and still writes its exit file. The exit file is written to a temp name and renamed:
 * the scheduler never reads half of it. It MUST be the last thing the script does, after the
 * command and its validation have ended, so an exit file means the attempt is over (nextflow #931).
 */

/** Exit code of a job that could not see the attempt's folder: the state folder is not shared with the node. */
export const NOT_SHARED_EXIT = 213;

/** The file names inside an attempt's job folder. */
export const JOB_FILES = { script: 'job.sh', exit: 'exit', started: 'started', claim: 'claim' } as const;

/** Single-quotes a word for bash. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function argv(c: Command): string {
  return typeof c === 'string' ? `/bin/sh -c ${shq(c)}` : c.map(shq).join(' ');
}

/** The script's text. `dir` is the attempt's job folder (shared with the compute nodes); `cwd` is where the command runs. */
export function jobScript(req: RunRequest, dir: string, cwd: string): string {
  const env = Object.entries(req.env).map(([k, v]) => `export ${k}=${shq(v)}`).join('\n');
  const validate = req.validate === null ? '' : `if [ "$cmd_rc" = 0 ]; then
  echo "cairn: validating" >&2
  run ${argv(req.validate)}
  val_rc=$rc
fi`;
  return `#!/bin/bash
# cairn: ${req.key} attempt ${req.attempt}. Written by the scheduler; do not edit.
dir=${shq(dir)}
if [ ! -d "$dir" ]; then
  echo "cairn: $HOSTNAME cannot see the state folder ($dir): it must be on a file system the compute nodes share" >&2
  exit ${NOT_SHARED_EXIT}
fi
# One run per attempt, whatever submitted it: a scheduler killed while its sbatch ran leaves that sbatch
# to finish on its own, after the next scheduler has submitted the same attempt. The first copy to
# start claims the attempt (noclobber creates the file with O_EXCL); a second one runs nothing, and
# the scheduler follows the claimant's exit file instead. Builtins only where it can: a job's own
# forks are most of its cost when tasks are short.
set -C
if ! { echo "\${SLURM_JOB_ID:-}" > "$dir/${JOB_FILES.claim}"; } 2>/dev/null; then
  echo "cairn: job \${SLURM_JOB_ID:-?} is a second copy of this attempt (job $(<"$dir/${JOB_FILES.claim}") runs it); not running it again" >&2
  exit 0
fi
set +C
now_ms() { local t=\${EPOCHREALTIME/./}; echo "\${t:0:-3}"; }
start_ms=$(now_ms)
echo "$start_ms $HOSTNAME" > "$dir/${JOB_FILES.started}"
${env}
cd ${shq(cwd)} || { rc=1; echo "cairn: cannot cd to ${cwd.replace(/[^\w./-]/g, '?')}" >&2; }
child=
on_signal() { [ -n "$child" ] && { kill -"$1" -- -"$child" 2>/dev/null || kill -"$1" "$child" 2>/dev/null; }; }
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT
trap 'on_signal USR2' USR2
# Own process group (setsid), so a signal reaches the command's children too.
run() {
  setsid "$@" </dev/null &
  child=$!
  while :; do
    wait "$child"; rc=$?
    kill -0 "$child" 2>/dev/null || break
  done
  child=
}
cmd_rc=\${rc:-}
val_rc=-
if [ -z "$cmd_rc" ]; then
  run ${argv(req.command)}
  cmd_rc=$rc
fi
${validate}
echo "$cmd_rc $val_rc $start_ms $(now_ms)" > "$dir/${JOB_FILES.exit}.tmp" && mv -f "$dir/${JOB_FILES.exit}.tmp" "$dir/${JOB_FILES.exit}"
[ "$val_rc" = - ] && exit "$cmd_rc"
exit "$val_rc"
`;
}

/** The exit file's content: each phase's status (validate null when it did not run), and the attempt's span. */
export interface ExitFile {
  command: number;
  validate: number | null;
  startMs: number;
  endMs: number;
}

/** Parses an exit file; null when it is not one (never half-written: it is renamed into place). */
export function parseExitFile(text: string): ExitFile | null {
  const m = /^(\d+) (\d+|-) (\d+) (\d+)\s*$/.exec(text);
  if (!m) return null;
  return { command: Number(m[1]), validate: m[2] === '-' ? null : Number(m[2]), startMs: Number(m[3]), endMs: Number(m[4]) };
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** A shell status as an outcome: 128+N is death by signal N, as bash reports it. */
export function statusOutcome(status: number, durationMs: number): TaskOutcome {
  const sig = status > 128 && status < 128 + 65 ? SIGNAL_NAMES.get(status - 128) : undefined;
  if (sig !== undefined) return { kind: 'signal', exit_code: null, signal: sig, duration_ms: durationMs, message: null };
  return { kind: 'exit', exit_code: status, signal: null, duration_ms: durationMs, message: status === 0 ? null : `exited with code ${status}` };
}
