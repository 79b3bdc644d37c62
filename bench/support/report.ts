// What every benchmark shares: the scale knob, the machine line, summary
// statistics, and the rows `npm run bench` gathers into one table. A benchmark
// run on its own prints its detail; under the runner (WITNESS_BENCH_REPORT set)
// it also appends its headline figures to that file as JSON lines.
import { appendFileSync } from 'node:fs';
import os from 'node:os';

/** WITNESS_BENCH_SCALE (default 1) multiplies every count: 5 for a long, steadier run. */
export const scale = Number(process.env.WITNESS_BENCH_SCALE ?? process.env.BENCH_SCALE ?? '1');
if (!(scale > 0)) throw new Error(`WITNESS_BENCH_SCALE=${process.env.WITNESS_BENCH_SCALE} must be a positive number`);
export const scaled = (count: number): number => Math.max(1, Math.round(count * scale));

export function machine(): string {
  const cpus = os.cpus();
  return (
    `${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown cpu'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
    `node ${process.version}, ${os.platform()} ${os.release()}`
  );
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export function summarise(samples: ArrayLike<number>): { median: number; p99: number; max: number } {
  const sorted = Float64Array.from(samples).sort();
  return { median: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1]! };
}

/** A figure measured in several repetitions: the median and the spread (min..max) of them. */
export interface Measured {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function measured(values: number[]): Measured {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: percentile(sorted, 0.5), min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: values.length };
}

export interface Row {
  /** What is measured, e.g. "record() per call, median". */
  figure: string;
  unit: string;
  ours: Measured;
  /** The pattern a user would otherwise pick, measured in the same run. */
  baseline?: Measured & { label: string };
  /** Which direction is better, so the ratio reads "n× better". */
  better: 'lower' | 'higher';
  target?: { op: '<=' | '>='; value: number; text?: string };
  note?: string;
}

export function report(row: Row): void {
  const file = process.env.WITNESS_BENCH_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

export const fmt = (x: number, digits = 2): string =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const int = (x: number): string => Math.round(x).toLocaleString('en-US');
export const mib = (bytes: number): string => `${fmt(bytes / 1024 / 1024, 1)} MiB`;
