import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BenchContext, type BenchResult, fmt, REPO, resultLine, runChild } from './util.js';

/**
 * Issue 16: 200 short jobs through `cairn run --executor slurm --workers 8` (each attempt one sbatch,
 * one batched squeue per poll for all of them) against a bare loop that submits the same 200 jobs
 * with sbatch and waits for them all (squeue until none is left). Both on the local single-node
 * Slurm (.ci/slurm-up); the ratio is wall time, target <= 1.3.
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

/** The baseline: 200 sbatch of a script running `true`, then squeue until none of them is left active. */
async function bareLoop(dir: string): Promise<number> {
  const script = path.join(dir, 'job.sh');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(script, '#!/bin/sh\ntrue\n', { mode: 0o700 });
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    const r = await runChild('sbatch', ['--parsable', '--no-requeue', `--job-name=bare.${i}`, `--output=${path.join(dir, `${i}.out`)}`, script]);
    if (r.code !== 0) throw new Error(`sbatch exited ${r.code}: ${r.stderr}`);
    ids.push(r.stdout.trim().split(';')[0]!);
  }
  const mine = new Set(ids);
  for (;;) {
    const r = await runChild('squeue', ['--me', '-h', '-t', 'PENDING,RUNNING,CONFIGURING,COMPLETING', '-o', '%i']);
    if (r.code === 0 && !r.stdout.split('\n').some((l) => mine.has(l.trim()))) break;
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
  return performance.now() - t0;
}

export async function benchSlurm(ctx: BenchContext): Promise<BenchResult[]> {
  const why = await slurmUp();
  if (why !== null) return [{ name: 'slurm', line: `slurm: not measured: ${why}`, pass: null }];
  const bare = await bareLoop(path.join(ctx.scratch, 'slurm-bare'));
  ctx.note(`slurm: bare sbatch loop of ${JOBS} jobs ${fmt(bare / 1000)} s`);
  const cairn = await cairnRun(path.join(ctx.scratch, 'slurm-cairn'));
  ctx.note(`slurm: cairn run --executor slurm --workers 8, ${JOBS} tasks ${fmt(cairn / 1000)} s`);
  return [resultLine('slurm', `cairn run --executor slurm (${JOBS} jobs, 8 in flight) / bare sbatch loop + wait`, cairn / bare, { op: '<=', value: 1.3 })];
}
