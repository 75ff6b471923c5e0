/** Deepest nesting cairn accepts in a record or a derived file; it never writes more than a few levels. */
export const MAX_DEPTH = 64;

/**
 * Walks a parsed value: 'proto' when some object has an own key `__proto__` (however it was
 * spelled in the text, `\u005f_proto__` included), 'deep' when it nests deeper than MAX_DEPTH.
 * Records are shallow, so this visits a dozen keys; a deep one is cut off at MAX_DEPTH.
 */
export function shapeProblem(v: unknown, depth = 1): 'proto' | 'deep' | null {
  if (depth > MAX_DEPTH) return 'deep';
  if (Array.isArray(v)) {
    for (const x of v) {
      if (typeof x === 'object' && x !== null) {
        const p = shapeProblem(x, depth + 1);
        if (p) return p;
      }
    }
    return null;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (k === '__proto__') return 'proto';
    const x = o[k];
    if (typeof x === 'object' && x !== null) {
      const p = shapeProblem(x, depth + 1);
      if (p) return p;
    }
  }
  return null;
}
