// What the pace benchmark prints and reports: one table per set of runs
// (pinned, unpinned), each row with points/s and the CPU per entry of the
// writer's process, Qdrant's and Kafka's, the ratios to the best ceiling and to
// qdrant-kafka, and the issue's targets (issue 23) as met / missed.
import { fmt, int, measured, report } from './report.js';
import type { CeilingFigure } from './pace-runs.js';
import type { LatencyResult } from './latency.js';
import type { IngestFigures } from './visible.js';

export const TARGETS = { ofCeiling: 0.9, overQdrantKafka: 10, cpuUs: 100, p99Ms: 1_000 } as const;

export interface PaceRow {
  label: string;
  figures?: IngestFigures;
  /** Why the row did not run. */
  skipped?: string;
}

export interface PaceSet {
  name: 'pinned' | 'unpinned';
  ceilings: CeilingFigure[];
  ours: PaceRow[];
  qdrantKafka: PaceRow;
  naive: PaceRow;
  latency: Array<{ share: number; result?: LatencyResult; error?: string }>;
}

const us = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : int(x));
const ratio = (a: number, b: number | undefined) => (b ? `${fmt(a / b, 2)}×` : '—');

export const bestCeiling = (set: PaceSet): CeilingFigure | undefined => [...set.ceilings].sort((a, b) => b.rate - a.rate)[0];
/** The row users run: the first consumer row (default settings). */
export const oursDefault = (set: PaceSet): IngestFigures | undefined => set.ours[0]?.figures;

export function printSet(set: PaceSet): void {
  const best = bestCeiling(set)?.rate;
  const qk = set.qdrantKafka.figures?.rate;
  console.log(`\n## ${set.name}: points/s; µs CPU per entry of the writer's process, Qdrant's, Kafka's; ratios`);
  console.log('| what | points/s | writer µs/entry | Qdrant µs/entry | Kafka µs/entry | / best ceiling | / qdrant-kafka |');
  console.log('|---|---|---|---|---|---|---|');
  for (const c of set.ceilings) {
    console.log(`| Qdrant alone, ${c.protocol}, ${c.inFlight} in flight | ${int(c.rate)} | — | ${us(c.qdrantCpu)} | — | ${ratio(c.rate, best)} | — |`);
  }
  for (const row of [...set.ours, set.qdrantKafka, set.naive]) {
    const f = row.figures;
    if (!f) {
      console.log(`| ${row.label} | skipped: ${row.skipped ?? 'did not run'} | | | | | |`);
      continue;
    }
    const partial = f.complete ? '' : ` (time-boxed: ${int(f.visible)} points in ${fmt(f.seconds, 1)} s)`;
    console.log(`| ${row.label}${partial} | ${int(f.rate)} | ${us(f.cpu.consumer)} | ${us(f.cpu.qdrant)} | ${us(f.cpu.kafka)} | ${ratio(f.rate, best)} | ${ratio(f.rate, qk)} |`);
  }
  for (const l of set.latency) {
    const what = `end-to-end at ${int(l.share * 100)} % of our maximum`;
    if (l.result) console.log(`  ${what} (${int(l.result.rate)}/s, ${int(l.result.sent)} entries): p50 ${int(l.result.p50)} ms, p99 ${int(l.result.p99)} ms${l.result.missing ? `, ${int(l.result.missing)} never visible` : ''}`);
    else console.log(`  ${what}: ${l.error}`);
  }
}

/** The issue's targets for one set, printed as met / missed (the bench reports; it does not fail). */
export function printTargets(set: PaceSet): void {
  const ours = oursDefault(set);
  const best = bestCeiling(set)?.rate;
  const qk = set.qdrantKafka.figures?.rate;
  const p99 = set.latency.find((l) => l.share === 0.5)?.result?.p99;
  const line = (what: string, value: number | undefined, ok: (v: number) => boolean, shown: (v: number) => string) =>
    console.log(`  ${what.padEnd(44)} ${value === undefined || Number.isNaN(value) ? 'not measured' : `${shown(value).padEnd(12)} ${ok(value) ? 'met' : 'MISSED'}`}`);
  console.log(`\n## targets of issue 23 (${set.name})`);
  line(`ours ≥ ${TARGETS.ofCeiling * 100} % of the best ceiling`, ours && best ? ours.rate / best : undefined, (v) => v >= TARGETS.ofCeiling, (v) => `${fmt(v * 100, 0)} %`);
  line(`ours ≥ ${TARGETS.overQdrantKafka}× qdrant-kafka`, ours && qk ? ours.rate / qk : undefined, (v) => v >= TARGETS.overQdrantKafka, (v) => `${fmt(v, 1)}×`);
  line(`consumer CPU ≤ ${TARGETS.cpuUs} µs per entry`, ours?.cpu.consumer, (v) => v <= TARGETS.cpuUs, (v) => `${int(v)} µs`);
  line(`end-to-end p99 ≤ ${int(TARGETS.p99Ms)} ms at 50 %`, p99, (v) => v <= TARGETS.p99Ms, (v) => `${int(v)} ms`);
}

/** The headline rows of one set for `npm run bench`'s table (WITNESS_BENCH_REPORT). */
export function reportSet(set: PaceSet): void {
  const ours = oursDefault(set);
  const best = bestCeiling(set);
  const qk = set.qdrantKafka.figures;
  const one = (x: number) => measured([x]);
  const note = set.name;
  if (best) report({ figure: 'Qdrant alone, best ceiling (pre-serialized 100-point upserts)', unit: 'points/s', better: 'higher', ours: one(best.rate), note: `${note}, ${best.protocol}, ${best.inFlight} in flight` });
  if (!ours) return;
  report({ figure: 'consumer service points/s', unit: 'points/s', better: 'higher', ours: one(ours.rate), note, ...(qk ? { baseline: { label: 'qdrant-kafka 1.4.1', ...one(qk.rate) } } : {}) });
  if (best) report({ figure: 'consumer service / best ceiling', unit: '%', better: 'higher', ours: one((100 * ours.rate) / best.rate), note, target: { op: '>=', value: 100 * TARGETS.ofCeiling } });
  if (qk) report({ figure: 'consumer service / qdrant-kafka', unit: '×', better: 'higher', ours: one(ours.rate / qk.rate), note, target: { op: '>=', value: TARGETS.overQdrantKafka } });
  const naive = set.naive.figures;
  report({ figure: 'consumer service CPU per entry (whole process)', unit: 'µs', better: 'lower', ours: one(ours.cpu.consumer!), note, target: { op: '<=', value: TARGETS.cpuUs }, ...(qk ? { baseline: { label: 'qdrant-kafka 1.4.1 (Connect JVM)', ...one(qk.cpu.consumer!) } } : naive ? { baseline: { label: 'naive eachMessage', ...one(naive.cpu.consumer!) } } : {}) });
  for (const l of set.latency) {
    if (!l.result) continue;
    report({ figure: `end-to-end p99 at ${int(l.share * 100)} % of our maximum (${int(l.result.rate)}/s)`, unit: 'ms', better: 'lower', ours: one(l.result.p99), note, ...(l.share === 0.5 ? { target: { op: '<=' as const, value: TARGETS.p99Ms } } : {}) });
  }
}
