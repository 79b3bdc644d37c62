// The one table `npm run bench` prints: every benchmark's headline rows, ours
// beside the baseline measured in the same run, their ratio and our target.
import type { Measured, Row } from './report.js';

const num = (x: number): string => {
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
};

function value(m: Measured, unit: string): string {
  const spread = m.runs > 1 ? ` (${num(m.min)}–${num(m.max)}, ${m.runs} runs)` : '';
  return `${num(m.median)} ${unit}${spread}`;
}

function ratio(row: Row): string {
  if (!row.baseline || row.baseline.median === 0 || row.ours.median === 0) return '—';
  const r = row.better === 'lower' ? row.baseline.median / row.ours.median : row.ours.median / row.baseline.median;
  return `${num(r)}× ${r >= 1 ? 'better' : 'worse'}`;
}

function met(row: Row): string {
  if (!row.target) return '—';
  const ok = row.target.op === '<=' ? row.ours.median <= row.target.value : row.ours.median >= row.target.value;
  return ok ? 'met' : 'NOT met';
}

export function renderTable(rows: Row[], machine: string): string {
  const lines = [
    `Machine: ${machine}`,
    '',
    '| figure | ours: median (spread) | baseline, same run | ratio | target | |',
    '|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const baseline = row.baseline ? `${value(row.baseline, row.unit)}: ${row.baseline.label}` : '—';
    const target = row.target ? (row.target.text ?? `${row.target.op === '<=' ? '≤' : '≥'} ${num(row.target.value)} ${row.unit}`) : '—';
    const figure = row.note ? `${row.figure} (${row.note})` : row.figure;
    lines.push(`| ${figure} | ${value(row.ours, row.unit)} | ${baseline} | ${ratio(row)} | ${target} | ${met(row)} |`);
  }
  return lines.join('\n');
}
