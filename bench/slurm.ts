import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BenchContext, type BenchResult, fmt, REPO, resultLine, runChild } from './util.js';

/**
 * Issue 16: 200 short jobs through `cairn run --executor slurm --workers 8` (each attempt one sbatch,
 * one batched squeue per poll for all of them) against a bare loop that submits the same 200 jobs
 * with sbatch and waits for them all. Both on the local single-node Slurm (.ci/slurm-up); wall time.
 *
 * Two bare loops, both polling one squeue every POLL_MS (cairn's poll_ms here) to see jobs end:
 * - all 200 queued at once: the issue's baseline, the one the target (<= 1.3) applies to;
 * - the same 8 jobs in flight as cairn (submit one as one ends), reported beside it: what cairn adds
 *   over sbatch itself at the same concurrency. The two differ because Slurm starts a newly submitted batch job only at
 *   its next scheduling pass (batch_sched_delay, 3 s by default, counted from the last pass), while a
 *   job already pending starts the moment a job ends. So with 8 in flight every round waits for a
 *   pass (200 / 8 rounds of about 3 s), whatever the submitter is; a queue of 200 does not.
 */

const CAIRN = path.join(REPO, 'bin', 'cairn.js');
const JOBS = 200;
const POLL_MS = 500;

async function slurmUp(): Promise<string | null> {
  const r = await runChild('scontrol', ['ping']);
  return r.code === 0 && /is UP/.test(r.stdout) ? null : `slurmctld does not answer (${(r.stderr || r.stdout).trim().split('\n')[0]}); run .ci/slurm-up`;
}

async function cairnRun(dir: string): Promise<number> {
  const state = path.join(dir, 'st');
  const spec = path.join(dir, 'spec.json');
  fs.mkdirSync(state, { recursive: true });
  fs.writeFileSync(path.join(state, 'config.json'), JSON.stringify({ executor: { kind: 'slurm', poll_ms: POLL_MS } }));
  fs.writeFileSync(spec, JSON.stringify({ id: 'bench-slurm', tasks: Array.from({ length: JOBS }, (_, i) => ({ id: `j${i}`, command: ['true'] })) }));
  const r = await runChild(process.execPath, [CAIRN, 'run', spec, '--executor', 'slurm', '--workers', '8', '--state-dir', state, '--json']);
  if (r.code !== 0) throw new Error(`cairn run exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 500)}`);
  return r.ms;
}

/**
 * A bare loop: sbatch of a script running `true` for each of the 200 jobs, at most `inFlight` at a
 * time, and one squeue every POLL_MS until none of them is left active (jobs leave it as they end).
 */
async function bareLoop(dir: string, inFlight: number): Promise<number> {
  const script = path.join(dir, 'job.sh');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(script, '#!/bin/sh\ntrue\n', { mode: 0o700 });
  const t0 = performance.now();
  const active = new Set<string>();
  let next = 0;
  const submit = async (i: number) => {
    const r = await runChild('sbatch', ['--parsable', '--no-requeue', `--job-name=bare.${i}`, `--output=${path.join(dir, `${i}.out`)}`, script]);
    if (r.code !== 0) throw new Error(`sbatch exited ${r.code}: ${r.stderr}`);
    active.add(r.stdout.trim().split(';')[0]!);
  };
  for (;;) {
    if (inFlight >= JOBS) {
      // Queue them all, one sbatch after another (as a shell loop would).
      while (next < JOBS) await submit(next++);
    } else {
      // Refill the free places at once, as cairn does with its free slots.
      const batch: Promise<void>[] = [];
      while (next < JOBS && active.size + batch.length < inFlight) batch.push(submit(next++));
      await Promise.all(batch);
    }
    if (active.size === 0 && next >= JOBS) break;
    await new Promise((res) => setTimeout(res, POLL_MS));
    const r = await runChild('squeue', ['--me', '-h', '-t', 'PENDING,RUNNING,CONFIGURING,COMPLETING', '-o', '%i']);
    if (r.code !== 0) continue;
    const listed = new Set(r.stdout.split('\n').map((l) => l.trim()));
    for (const id of [...active]) if (!listed.has(id)) active.delete(id);
  }
  return performance.now() - t0;
}

export async function benchSlurm(ctx: BenchContext): Promise<BenchResult[]> {
  const why = await slurmUp();
  if (why !== null) return [{ name: 'slurm', line: `slurm: not measured: ${why}`, pass: null }];
  const bare = await bareLoop(path.join(ctx.scratch, 'slurm-bare'), 8);
  ctx.note(`slurm: bare sbatch loop of ${JOBS} jobs, 8 in flight: ${fmt(bare / 1000)} s`);
  const queued = await bareLoop(path.join(ctx.scratch, 'slurm-bare-all'), JOBS);
  ctx.note(`slurm: bare sbatch loop of ${JOBS} jobs, all queued at once: ${fmt(queued / 1000)} s`);
  const cairn = await cairnRun(path.join(ctx.scratch, 'slurm-cairn'));
  ctx.note(`slurm: cairn run --executor slurm --workers 8, ${JOBS} tasks ${fmt(cairn / 1000)} s (${fmt(cairn / queued)} x the loop that queues all ${JOBS} at once)`);
  return [
    resultLine('slurm', `cairn run --executor slurm (${JOBS} jobs, 8 in flight) / bare sbatch loop queueing all ${JOBS} + wait`, cairn / queued, { op: '<=', value: 1.3 }),
    resultLine('slurm-same-concurrency', `cairn run --executor slurm (${JOBS} jobs, 8 in flight) / bare sbatch loop + wait, 8 in flight`, cairn / bare, null),
  ];
}
