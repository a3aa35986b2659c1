/**
 * Order statistics for benchmark samples: median and p95 (nearest rank), and a few helpers the
 * table and the targets share.
 * @module
 */

/** The q-quantile (0..1) of `samples` by nearest rank; NaN for no samples. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/** Median (the mean of the two middle samples when there is an even number). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0 || samples.length % 2 === 1) return quantile(samples, 0.5);
  const sorted = [...samples].sort((a, b) => a - b);
  const hi = sorted.length / 2;
  return ((sorted[hi - 1] ?? Number.NaN) + (sorted[hi] ?? Number.NaN)) / 2;
}

/** 95th percentile, nearest rank. */
export function p95(samples: readonly number[]): number {
  return quantile(samples, 0.95);
}

export function sum(samples: readonly number[]): number {
  return samples.reduce((a, b) => a + b, 0);
}

/** Milliseconds since `start` (from `process.hrtime.bigint()`). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Time one synchronous or asynchronous call in milliseconds. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return msSince(t);
}

/** A number for a table cell: 3 significant digits, at most 2 decimals. */
export function fmt(x: number | undefined): string {
  if (x === undefined || Number.isNaN(x)) return '-';
  const abs = Math.abs(x);
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  return x.toFixed(2);
}
