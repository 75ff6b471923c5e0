/**
 * Canonical JSON: object keys sorted at every depth, so the same value always gives the same bytes.
 * Files under .state/ are written this way (two-space indent) so that `git diff` shows only what
 * changed; checkpoint hashes are taken over the compact form.
 */
export function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalize);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as object).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = canonicalize(v);
    }
    return out;
  }
  return value;
}

/** Pretty canonical JSON with a trailing newline, as every derived file is written. */
export function prettyJson(value: unknown): string {
  return JSON.stringify(canonicalize(value), null, 2) + '\n';
}

/** Compact canonical JSON, the input of content hashes. */
export function compactJson(value: unknown): string {
  return JSON.stringify(canonicalize(value));
}
