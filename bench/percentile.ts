/** The nearest-rank percentile of ascending `sorted`: the smallest sample at or above p % of them. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
