/** Summaries for repeated measurements: the machine is noisy, so every figure is a median with its range. */

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}

/** Nearest-rank percentile of an already sorted array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export function fmt(value: number, digits = 0): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** `<median> min=.. max=.. n=..`, the format of ../shared/bench so figures can be compared side by side. */
export function fmtSummary(s: Summary, digits = 0): string {
  return `${fmt(s.median, digits)} min=${fmt(s.min, digits)} max=${fmt(s.max, digits)} n=${s.n}`;
}

export function nowNs(): bigint {
  return process.hrtime.bigint();
}

export function secondsSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export const MIB = 1024 * 1024;

export function mibPerS(bytes: number, seconds: number): number {
  return bytes / MIB / seconds;
}
