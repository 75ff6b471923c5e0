import { createHash } from 'node:crypto';
import { canonicalize } from '../log/canonical.js';

/**
 * The bytes of current.json (and of its backups), version 2 (issue 15).
 *
 * Layout: keys sorted, two-space indent as every derived file, except that each task is one line of
 * compact JSON: a task that changed is one changed line in `git diff`, and the file is about 40%
 * smaller than fully indented (less to read, decode and parse on every command).
 *
 * Hash: `sha256:` and the sha-256 of the file's own bytes with these 64 hex digits left out. A reader
 * checks the bytes it read, without re-encoding the document (version 1 hashed the canonical compact
 * JSON, which cost a second encoding of the whole file). MUST: the digits left out are the first
 * occurrence of the stated digits in the file; wherever that is, every other byte, the real `hash`
 * field included, is hashed, so an edit cannot be hidden. Version-1 files keep their canonical hash
 * and still load (snapshot.ts checkSnapshot).
 */
export const SNAPSHOT_FILE_VERSION = 2;

const PLACEHOLDER = '0'.repeat(64);

/** The file's bytes for a snapshot body (without `hash`): laid out as above, hash filled in. */
export function encodeSnapshotFile(body: Record<string, unknown>): Buffer {
  const doc = canonicalize({ ...body, hash: `sha256:${PLACEHOLDER}` }) as Record<string, unknown>;
  const buf = Buffer.from(layout(doc, '', 'top') + '\n', 'utf8');
  // Top-level keys are the only ones at two spaces of indent; `hash` sorts after `archived` and `crc`.
  const at = buf.indexOf('\n  "hash": "sha256:') + '\n  "hash": "sha256:'.length;
  buf.write(digestWithout(buf, at), at, 'latin1');
  return buf;
}

/** Whether `bytes` (a whole version-2 file) hold `hash` as the digest of themselves without its digits. */
export function fileHashMatches(bytes: Buffer, hash: unknown): boolean {
  if (typeof hash !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(hash)) return false;
  const digits = hash.slice(7);
  const at = bytes.indexOf(digits, 0, 'latin1');
  return at >= 0 && digestWithout(bytes, at) === digits;
}

function digestWithout(buf: Buffer, at: number): string {
  return createHash('sha256').update(buf.subarray(0, at)).update(buf.subarray(at + 64)).digest('hex');
}

/** Where a value sits: a task (`workstreams.<id>.tasks.<id>`) is written on one line. */
type Role = 'top' | 'workstreams' | 'workstream' | 'tasks' | 'task' | 'other';

function childRole(role: Role, key: string): Role {
  switch (role) {
    case 'top': return key === 'workstreams' ? 'workstreams' : 'other';
    case 'workstreams': return 'workstream';
    case 'workstream': return key === 'tasks' ? 'tasks' : 'other';
    case 'tasks': return 'task';
    case 'task': case 'other': return 'other';
    default: return role satisfies never;
  }
}

/** JSON.stringify(v, null, 2) of a canonical value, except that a task is compact, on one line. */
function layout(v: unknown, indent: string, role: Role): string {
  if (role === 'task' || v === null || typeof v !== 'object') return JSON.stringify(v);
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => inner + layout(x, inner, 'other')).join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return '{}';
  const parts: string[] = [];
  for (const k of keys) parts.push(`${inner}${JSON.stringify(k)}: ${layout((v as Record<string, unknown>)[k], inner, childRole(role, k))}`);
  return `{\n${parts.join(',\n')}\n${indent}}`;
}
