/** "3 completed, 1 running" (non-zero counts only), for the verbs' messages. */
export function countsOf(counts: Record<string, number>): string {
  const order = ['running', 'validating', 'queued', 'retrying', 'pending', 'blocked', 'failed', 'completed', 'skipped', 'cancelled'];
  return order.filter((k) => (counts[k] ?? 0) > 0).map((k) => `${counts[k]} ${k}`).join(', ') || 'no tasks';
}
