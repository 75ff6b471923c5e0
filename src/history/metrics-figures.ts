/** The small statistics `cairn metrics` reports (history/metrics.ts), pure. */

/** A list of milliseconds summed up: the mean, the median, the 95th percentile and the largest. */
export interface Spread {
  mean: number;
  p50: number;
  p95: number;
  max: number;
}

/** Nearest-rank percentile of an ascending list: the value at rank ceil(p/100 * n). */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** The spread of a non-empty list (the mean rounded to whole milliseconds). */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return { mean: Math.round(sum / sorted.length), p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted[sorted.length - 1]! };
}

/** How many of the counts are 1, 2, …, keyed by the count as text, in ascending order. */
export function distribution(counts: readonly number[]): Record<string, number> {
  const by = new Map<number, number>();
  for (const n of counts) by.set(n, (by.get(n) ?? 0) + 1);
  const out: Record<string, number> = {};
  for (const n of [...by.keys()].sort((a, b) => a - b)) out[String(n)] = by.get(n)!;
  return out;
}

/** Milliseconds from one record's ts to another's. */
export function msBetween(from: string, to: string): number {
  return Date.parse(to) - Date.parse(from);
}
