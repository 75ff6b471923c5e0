import { crc32 } from 'node:zlib';
import type { Rng } from './prng.js';

/**
 * Mutations of cairn's files for the fuzz suite. Byte-level ones (bit flips, truncation, garbage)
 * break checksums and JSON; line-level ones (splices) reorder, duplicate or drop records; and the
 * "re-chained" ones change a record's JSON and recompute the crc chain from there on, so the damage
 * passes the checksum and must be caught by the layers behind it (parsing, forbidden keys, the
 * transition tables, the snapshot checks).
 */
export type Mutation =
  | 'bitflip' | 'truncate' | 'garbage' | 'splice' | 'huge-line' | 'deep-nesting' | 'proto-key' | 'wrong-type'
  | 'rechained-wrong-type' | 'rechained-proto' | 'rechained-deep' | 'rechained-huge' | 'rechained-drop';

export const FILE_MUTATIONS: readonly Mutation[] = ['bitflip', 'truncate', 'garbage', 'splice', 'huge-line', 'deep-nesting', 'proto-key', 'wrong-type'];
export const LOG_MUTATIONS: readonly Mutation[] = [...FILE_MUTATIONS, 'rechained-wrong-type', 'rechained-proto', 'rechained-deep', 'rechained-huge', 'rechained-drop'];

const PROTO_KEYS = ['"__proto__":{"polluted":"yes"}', '"__proto__" :{"polluted":"yes"}', '"\\u005f_proto__":{"polluted":"yes"}', '"constructor":{"prototype":{"polluted":"yes"}}', '"prototype":{"polluted":"yes"}'];

export function deep(depth: number, open = '[', close = ']'): string {
  return open.repeat(depth) + close.repeat(depth);
}

export function mutate(rng: Rng, input: Buffer, m: Mutation, isLog: boolean): Buffer {
  switch (m) {
    case 'bitflip': {
      const b = Buffer.from(input);
      if (b.length === 0) return Buffer.from([rng.int(0, 255)]);
      for (let k = rng.int(1, 8); k > 0; k--) {
        const i = rng.int(0, b.length - 1);
        b[i] = b[i]! ^ (1 << rng.int(0, 7));
      }
      return b;
    }
    case 'truncate':
      return input.subarray(0, rng.int(0, Math.max(0, input.length - 1)));
    case 'garbage': {
      const at = rng.int(0, input.length);
      return Buffer.concat([input.subarray(0, at), rng.bytes(rng.int(1, 64)), input.subarray(at + (rng.chance(0.5) ? rng.int(0, 64) : 0))]);
    }
    case 'splice': {
      const lines = splitLines(input);
      if (lines.length < 2) return Buffer.concat([input, input]);
      const i = rng.int(0, lines.length - 1);
      const j = rng.int(0, lines.length - 1);
      const how = rng.pick(['dup', 'swap', 'drop', 'move'] as const);
      if (how === 'dup') lines.splice(j, 0, lines[i]!);
      else if (how === 'swap') [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      else if (how === 'drop') lines.splice(i, 1);
      else lines.splice(j, 0, ...lines.splice(i, 1));
      return joinLines(lines, input);
    }
    case 'huge-line': {
      const lines = splitLines(input);
      const size = rng.int(1, 4) * 1024 * 1024;
      const huge = rng.chance(0.5) ? Buffer.alloc(size, 0x78) : Buffer.from(`{"seq":${lines.length + 1},"reason":"${'y'.repeat(size)}"}`);
      lines.splice(rng.int(0, lines.length), 0, huge);
      return joinLines(lines, input);
    }
    case 'deep-nesting':
    case 'proto-key':
    case 'wrong-type': {
      if (isLog) {
        const lines = splitLines(input);
        if (lines.length === 0) return input;
        const i = rng.int(0, lines.length - 1);
        lines[i] = Buffer.from(editJsonText(rng, lines[i]!.toString('utf8'), m));
        return joinLines(lines, input);
      }
      return Buffer.from(editJsonText(rng, input.toString('utf8'), m));
    }
    case 'rechained-wrong-type':
    case 'rechained-proto':
    case 'rechained-deep':
    case 'rechained-huge':
    case 'rechained-drop': {
      const lines = splitLines(input).map((l) => l.toString('utf8'));
      if (lines.length === 0) return input;
      const i = rng.int(0, lines.length - 1);
      if (m === 'rechained-drop') lines.splice(i, 1);
      else {
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(lines[i]!) as Record<string, unknown>;
        } catch {
          return input;
        }
        delete rec.crc;
        let text: string;
        if (m === 'rechained-wrong-type') text = JSON.stringify(changeType(rng, rec));
        else if (m === 'rechained-huge') text = JSON.stringify({ ...rec, reason: 'z'.repeat(rng.int(1, 6) * 1024 * 1024) });
        else {
          const body = JSON.stringify(rec).slice(0, -1);
          const sep = body.length > 1 ? ',' : '';
          if (m === 'rechained-proto') text = `${body}${sep}${rng.pick(PROTO_KEYS)}}`;
          else {
            const d = rng.int(1000, 200_000);
            const nested = rng.chance(0.5) ? deep(d) : `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`;
            text = `${body}${sep}"reason":${nested}}`;
          }
        }
        lines[i] = text;
      }
      return Buffer.from(rechain(lines, Math.max(0, i)).join('\n') + '\n');
    }
  }
}

/** Recomputes the crc chain from line `from` on (lines without a crc field are left alone). */
export function rechain(lines: string[], from: number): string[] {
  let prev = 0;
  const out = [...lines];
  for (let i = 0; i < out.length; i++) {
    let line = out[i]!;
    const cut = line.lastIndexOf(',"crc":"');
    const hasCrc = cut > 0 && /,"crc":"[0-9a-f]{8}"\}$/.test(line);
    if (i >= from) {
      const body = hasCrc ? line.slice(0, cut) : line.endsWith('}') ? line.slice(0, -1) : line;
      const crc = crc32('}', crc32(body, prev));
      line = `${body},"crc":"${crc.toString(16).padStart(8, '0')}"}`;
      out[i] = line;
      prev = crc;
    } else if (hasCrc) {
      prev = parseInt(line.slice(cut + 8, cut + 16), 16);
    }
  }
  return out;
}

function splitLines(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = b.indexOf(10, start);
    if (nl < 0) break;
    out.push(b.subarray(start, nl));
    start = nl + 1;
  }
  if (start < b.length) out.push(b.subarray(start));
  return out;
}

function joinLines(lines: Buffer[], original: Buffer): Buffer {
  const parts: Buffer[] = [];
  lines.forEach((l, i) => {
    parts.push(l);
    if (i < lines.length - 1 || original[original.length - 1] === 10) parts.push(Buffer.from('\n'));
  });
  return Buffer.concat(parts);
}

/** Edits JSON text: a value replaced by deep nesting, a forbidden key inserted, or a value's type changed. */
function editJsonText(rng: Rng, text: string, m: 'deep-nesting' | 'proto-key' | 'wrong-type'): string {
  if (m === 'proto-key') {
    const at = text.indexOf('{');
    if (at < 0) return `{${rng.pick(PROTO_KEYS)}}`;
    return `${text.slice(0, at + 1)}${rng.pick(PROTO_KEYS)},${text.slice(at + 1)}`;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return text;
  }
  if (m === 'wrong-type') return JSON.stringify(changeType(rng, v), null, text.includes('\n  ') ? 2 : undefined);
  const nested = deep(rng.int(1000, 200_000));
  const marker = '"__DEEP__"';
  const withMarker = JSON.stringify(replaceRandom(rng, v, '__DEEP__'), null, text.includes('\n  ') ? 2 : undefined);
  return withMarker.replace(marker, nested);
}

const VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, '', 'x', '../../etc', [], {}, [1, 2], { a: 1 }, 9007199254740993];

/** Replaces one random node (not the root) with a value of another type. */
export function changeType(rng: Rng, v: unknown): unknown {
  return replaceRandom(rng, v, rng.pick(VALUES));
}

function replaceRandom(rng: Rng, root: unknown, value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(root)) as unknown;
  const slots: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (node: unknown, depth: number) => {
    if (depth > 12 || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) node.forEach((x, i) => { slots.push({ parent: node, key: i }); walk(x, depth + 1); });
    else for (const k of Object.keys(node)) { slots.push({ parent: node as Record<string, unknown>, key: k }); walk((node as Record<string, unknown>)[k], depth + 1); }
  };
  walk(copy, 0);
  if (slots.length === 0) return value;
  const s = rng.pick(slots);
  (s.parent as Record<string | number, unknown>)[s.key] = value;
  return copy;
}
