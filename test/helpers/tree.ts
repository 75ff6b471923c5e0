// A whole folder as data, to prove that a refused command wrote nothing (byte for byte).
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

export interface Entry {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  /** File bytes as hex, a link's target, or '' for a folder. */
  content: string;
}

/** Every entry under `dir` (itself excluded), keyed by relative path, with mode and exact content. */
export function readTree(dir: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(dir, r);
      const st = lstatSync(p);
      const mode = st.mode & 0o7777;
      if (st.isSymbolicLink()) out.set(r, { kind: 'symlink', mode, content: readlinkSync(p) });
      else if (st.isDirectory()) {
        out.set(r, { kind: 'dir', mode, content: '' });
        walk(r);
      } else if (st.isFile()) out.set(r, { kind: 'file', mode, content: readFileSync(p).toString('hex') });
      else out.set(r, { kind: 'other', mode, content: '' });
    }
  };
  walk('');
  return out;
}

/** Fails naming every path that appeared, disappeared or changed (content or mode). */
export function assertTreeUnchanged(before: Map<string, Entry>, after: Map<string, Entry>, what = 'the folder'): void {
  const diffs: string[] = [];
  for (const [p, e] of before) {
    const a = after.get(p);
    if (!a) diffs.push(`removed ${p}`);
    else if (a.kind !== e.kind || a.mode !== e.mode) diffs.push(`changed ${p} (${e.kind} ${e.mode.toString(8)} -> ${a.kind} ${a.mode.toString(8)})`);
    else if (a.content !== e.content) diffs.push(`changed content of ${p}`);
  }
  for (const p of after.keys()) if (!before.has(p)) diffs.push(`added ${p}`);
  assert.deepEqual(diffs, [], `${what} changed`);
}
