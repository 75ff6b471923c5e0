import { CairnError } from '../../errors.js';

/** Parses --max-holders: a whole number >= 1, or `unlimited`/`null`. (Here, not in resources.ts, so the CLI parses it without loading the tools.) */
export function parseMaxHolders(v: string | number): number | null {
  if (typeof v === 'number') return v;
  if (v === 'unlimited' || v === 'null') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CairnError('BAD_INPUT', `--max-holders must be a whole number >= 1 or "unlimited", got ${JSON.stringify(v)}`);
  return n;
}
