import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { realFs } from '../../src/store/fsio.js';
import { LOG_START, type LogProblem, scanLog } from '../../src/store/logfile.js';

/** How big a run is: `ci` runs inside `npm test`, `full` is `npm run torture`. */
export type Size = 'ci' | 'full';

export interface TortureOptions {
  size: Size;
  seed: number;
}

/** What a suite measured: printed as one line, and failing when `failures` is not empty. */
export interface Figures {
  name: string;
  seed: number;
  size: Size;
  /** Label → count, printed in this order: `100 kills, 1000 acked, 0 lost`. */
  counts: Record<string, number>;
  /** One line per thing that broke the promise (at most 50 kept; `counts` has the totals). */
  failures: string[];
  ms: number;
  /** Set when the suite could not run here (the reason), e.g. strace is missing. */
  skipped?: string;
}

export type Suite = (opts: TortureOptions) => Promise<Figures>;

/** Repository root (this file runs from dist/test/torture/). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(REPO, 'bin', 'cairn.js');

/** A compiled fixture program of test/fixtures/torture/. */
export function fixture(name: string): string {
  return path.join(REPO, 'dist', 'test', 'fixtures', 'torture', `${name}.js`);
}

/** Lock timings small enough for tests (proper-lockfile minimums: stale 2000, update 1000). */
export const FAST_LOCK = { lock_stale_ms: 2000, lock_update_ms: 1000, lock_timeout_ms: 30_000 } as const;

export class Collector {
  readonly failures: string[] = [];
  private readonly started = Date.now();
  constructor(readonly name: string, readonly opts: TortureOptions) {}

  fail(msg: string): void {
    if (this.failures.length < 50) this.failures.push(msg);
  }

  done(counts: Record<string, number>, skipped?: string): Figures {
    const f: Figures = { name: this.name, seed: this.opts.seed, size: this.opts.size, counts, failures: this.failures, ms: Date.now() - this.started };
    if (skipped !== undefined) f.skipped = skipped;
    console.log(figureLine(f));
    for (const m of this.failures.slice(0, 10)) console.log(`  ${this.name}: ${m}`);
    return f;
  }
}

export function figureLine(f: Figures): string {
  if (f.skipped !== undefined) return `${f.name}: SKIPPED (${f.skipped}), seed=${f.seed}`;
  const parts = Object.entries(f.counts).map(([k, v]) => `${v} ${k}`);
  return `${f.name}: ${parts.join(', ')}, seed=${f.seed} [${f.size}, ${(f.ms / 1000).toFixed(1)} s]`;
}

export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cairn-torture-${name}-`));
}

/**
 * A temp folder in memory (/dev/shm) when there is one, for suites that copy and delete thousands of
 * small trees and do not test durability (fuzz, the checking side of power loss); else tempDir.
 */
export function scratchDir(name: string): string {
  try {
    if (fs.statSync('/dev/shm').isDirectory()) return fs.mkdtempSync(path.join('/dev/shm', `cairn-torture-${name}-`));
  } catch {
    /* no /dev/shm here */
  }
  return tempDir(name);
}

export function removeDir(dir: string): void {
  if (process.env.CAIRN_TORTURE_KEEP) return;
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The good records of a log (seq → crc) and what is wrong at its end. */
export function logRecords(logFile: string): { crcs: Map<number, string>; lastSeq: number; endOffset: number; problem: LogProblem | null } {
  const crcs = new Map<number, string>();
  const scan = scanLog(realFs, logFile, LOG_START, (_b, _s, _e, seq, crc) => {
    crcs.set(seq, crc.toString(16).padStart(8, '0'));
  });
  return { crcs, lastSeq: scan.end.seq, endOffset: scan.end.offset, problem: scan.problem };
}

/** Acknowledged records (seq → crc) that are missing from, or different in, the log. */
export function missingAcks(acked: ReadonlyMap<number, string>, inLog: ReadonlyMap<number, string>): number[] {
  const out: number[] = [];
  for (const [seq, crc] of acked) if (inLog.get(seq) !== crc) out.push(seq);
  return out.sort((a, b) => a - b);
}

export function errText(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e) return `${String((e as { code: unknown }).code)}: ${String((e as { message?: unknown }).message)}`;
  return e instanceof Error ? e.message : String(e);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Every file and folder under `root`, relative, with a content hash for files (symlinks by target). */
export function treeOf(root: string, skip: (rel: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      if (skip(r)) continue;
      const p = path.join(dir, n);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isSymbolicLink()) out.set(r, `link:${fs.readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.set(r, 'dir');
        walk(p, r);
      } else out.set(r, `file:${st.size}:${hash(fs.readFileSync(p))}`);
    }
  };
  walk(root, '');
  return out;
}

function hash(b: Buffer): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return (h >>> 0).toString(16);
}

/** Differences between two trees, as "+added", "-removed", "~changed" lines. */
export function treeDiff(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of b) {
    if (!a.has(k)) out.push(`+${k}`);
    else if (a.get(k) !== v) out.push(`~${k}`);
  }
  for (const k of a.keys()) if (!b.has(k)) out.push(`-${k}`);
  return out.sort();
}

/** Parses `--seed=N` / `--full` style flags of a suite run directly. */
export function cliOptions(argv: string[], defaults: TortureOptions): TortureOptions {
  const seedArg = argv.find((a) => a.startsWith('--seed='));
  return {
    size: argv.includes('--full') ? 'full' : argv.includes('--ci') ? 'ci' : defaults.size,
    seed: seedArg ? Number(seedArg.slice(7)) : defaults.seed,
  };
}
