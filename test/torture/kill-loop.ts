import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { init, validateState } from '../../src/index.js';
import { Store } from '../../src/store/store.js';
import { Collector, errText, FAST_LOCK, type Figures, fixture, logRecords, removeDir, tempDir, type TortureOptions } from './common.js';
import { Rng } from './prng.js';

/** Settings of the kill-loop state: fast locks, a backup at every snapshot, small retention (pruning runs often). */
export const KILL_CONFIG = { ...FAST_LOCK, backup_interval_ms: 0, backups_keep: 5, checkpoints_keep: 3 };

/**
 * Suite 1, kill loop. A real writer process (test/fixtures/torture/writer.ts) appends workload
 * records and reports each acknowledged one on a pipe after its fsync; the parent SIGKILLs it at
 * random moments (before it opened, right after an ack, in the middle of a group commit or of the
 * derived-file writes), then checks: every acknowledged record is in the log with the same crc, the
 * log has no mid-log damage and the state opens; every tenth kill it recovers the state (open, write
 * the derived files) and checks validate-state: replay equals the snapshot.
 *
 * A SIGKILLed holder leaves its lock folder; instead of sleeping the stale time after each kill, the
 * parent ages the folder's mtime, so the next opener goes through the stale-lock takeover.
 */
export async function killLoop(opts: TortureOptions): Promise<Figures> {
  const c = new Collector('kill-loop', opts);
  const rng = new Rng(opts.seed);
  const kills = opts.size === 'full' ? 1000 : 100;
  const transitions = opts.size === 'full' ? 10_000 : 1000;
  const perLife = transitions / kills;
  const root = tempDir('kill');
  const dir = path.join(root, '.state');
  init({ stateDir: dir });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(KILL_CONFIG));
  const acked = new Map<number, string>();
  const lost = new Set<number>();
  let unopenable = 0;
  let recoveries = 0;
  let mismatches = 0;
  let reclaimedLocks = 0;
  let tornTails = 0;
  try {
    for (let k = 0; k < kills; k++) {
      const life = await runLife(dir, opts.seed * 100_003 + k, rng, perLife, acked, c);
      if (life.reused.length > 0) for (const s of life.reused) lost.add(s);
      const owner = path.join(dir, 'state.lock', 'owner');
      if (fs.existsSync(owner)) {
        const past = new Date(Date.now() - 60_000);
        fs.utimesSync(owner, past, past);
        reclaimedLocks++;
      }
      const log = logRecords(path.join(dir, 'transitions.jsonl'));
      for (const [seq, crc] of acked) {
        if (log.crcs.get(seq) !== crc && !lost.has(seq)) {
          lost.add(seq);
          c.fail(`kill ${k}: acknowledged seq ${seq} (crc ${crc}) is ${log.crcs.has(seq) ? `a different record (crc ${log.crcs.get(seq)})` : 'missing'}; log ends at ${log.lastSeq}`);
        }
      }
      if (log.problem && log.problem.kind !== 'corrupt') tornTails++;
      if (log.problem?.kind === 'corrupt') {
        unopenable++;
        c.fail(`kill ${k}: mid-log corruption at seq ${log.problem.seq}: ${log.problem.reason}`);
        break;
      }
      const full = k % 10 === 9 || k === kills - 1;
      try {
        const store = await Store.open(dir, { readOnly: !full });
        await store.close();
      } catch (e) {
        unopenable++;
        c.fail(`kill ${k}: the state does not open: ${errText(e)}`);
        break;
      }
      if (full) {
        recoveries++;
        const v = validateState({ stateDir: dir });
        if (!v.ok) {
          mismatches++;
          c.fail(`kill ${k}: validate-state after recovery: ${v.problems.map((p) => `[${p.code}] ${p.message}`).join('; ')}`);
        }
      }
    }
  } finally {
    removeDir(root);
  }
  return c.done({ kills, acked: acked.size, lost: lost.size, unopenable, 'recoveries validated': recoveries, 'replay mismatches': mismatches, 'torn tails seen': tornTails, 'stale locks taken over': reclaimedLocks });
}

/** One writer life: spawn, wait for a random moment, SIGKILL, collect every ack it reported. */
async function runLife(dir: string, seed: number, rng: Rng, perLife: number, acked: Map<number, string>, c: Collector): Promise<{ reused: number[] }> {
  const child = spawn(process.execPath, [fixture('writer'), dir, String(seed)], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  let partial = '';
  let lifeAcks = 0;
  const reused: number[] = [];
  let onAck: (() => void) | null = null;
  pipe.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const m = /^A (\d+) ([0-9a-f]{8})$/.exec(line);
      if (!m) continue;
      const seq = Number(m[1]);
      const had = acked.get(seq);
      if (had !== undefined && had !== m[2]) {
        reused.push(seq);
        c.fail(`seq ${seq} was acknowledged twice with different records (${had}, then ${m[2]!}): the first was lost`);
      }
      if (had === undefined) acked.set(seq, m[2]!);
      lifeAcks++;
    }
    onAck?.();
  });
  const closed = new Promise<void>((r) => pipe.on('close', () => r()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  let early = false;
  void exited.then(() => { early = true; onAck?.(); });

  const target = rng.chance(0.1) ? 0 : rng.int(1, Math.max(1, Math.round(2 * perLife - 1)));
  if (target === 0) await new Promise((r) => setTimeout(r, rng.int(0, 200)));
  else {
    await new Promise<void>((r) => {
      onAck = () => { if (lifeAcks >= target || early) r(); };
      onAck();
    });
    onAck = null;
    const delay = rng.int(0, 3);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
  }
  child.kill('SIGKILL');
  const how = await exited;
  await closed;
  if (how.signal !== 'SIGKILL') c.fail(`the writer ended by itself (code ${how.code}): ${stderr.trim().split('\n').slice(0, 5).join(' | ')}`);
  return { reused };
}
