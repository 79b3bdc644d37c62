// The postmortem commands: clusters, routing, quality, latency. Each parses
// its own flags (errors name the flag and the value), asks the query library,
// and prints a table with rounded figures, or with --json the library's
// answer at full precision. They answer with counts, so they exit 0 even on
// an empty selection (as stats does).
import { UsageError, duration, toFilter, vectorName, type Values } from './args.js';
import { json, table } from './format.js';
import type { WitnessQuery } from '../query/query.js';
import type { ClusterReport } from '../query/clusters.js';
import type { LatencyReport } from '../query/latency.js';
import type { QualityReport } from '../query/quality.js';
import type { RoutingReport } from '../query/routing.js';

export const POSTMORTEM_COMMANDS = ['clusters', 'routing', 'quality', 'latency'] as const;

export function isPostmortem(command: string): command is (typeof POSTMORTEM_COMMANDS)[number] {
  return (POSTMORTEM_COMMANDS as readonly string[]).includes(command);
}

export async function runPostmortem(command: (typeof POSTMORTEM_COMMANDS)[number], values: Values, q: WitnessQuery, stdout: (text: string) => void): Promise<void> {
  const filter = toFilter(values);
  const maxEntries = wholeNumber('--max-entries', values['max-entries'], 1, 1_000_000);
  const capped = maxEntries === undefined ? {} : { maxEntries };
  let text: string;
  let data: unknown;
  if (command === 'clusters') {
    const sample = wholeNumber('--sample', values.sample, 2, 5_000);
    const minSize = wholeNumber('--min-size', values['min-size'], 2, 100);
    const threshold = values.threshold === undefined ? undefined : similarity(values.threshold);
    data = await q.clusters({
      filter,
      using: vectorName(values.using),
      ...(sample === undefined ? {} : { sample }),
      ...(minSize === undefined ? {} : { minSize }),
      ...(threshold === undefined ? {} : { threshold }),
    });
    text = clustersText(data as ClusterReport);
  } else if (command === 'routing') {
    data = await q.routing({ filter, ...capped });
    text = routingText(data as RoutingReport);
  } else if (command === 'quality') {
    const every = values.every === undefined ? undefined : duration('--every', values.every);
    data = await q.quality({ filter, ...capped, ...(every === undefined ? {} : { every }) });
    text = qualityText(data as QualityReport);
  } else {
    data = await q.latency({ filter, ...capped });
    text = latencyText(data as LatencyReport);
  }
  stdout(values.json ? json(data) : text);
}

function wholeNumber(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`${flag} ${text}: expected an integer from ${min} to ${max}`);
  return n;
}

function similarity(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= -1 || n > 1) throw new UsageError(`--threshold ${text}: expected a cosine similarity above -1, at most 1 (e.g. 0.9)`);
  return n;
}

// Tables round (3 significant decimals for scores, 1 for milliseconds); --json keeps every digit.
const round = (x: number | null, digits: number): number | string => (x === null ? '-' : Number(x.toFixed(digits)));
const percent = (x: number | null): string => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
const top = (counts: Record<string, number>, n = 3): string =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '-';
const sampleNote = (sampled: boolean, count: number, what: string): string => (sampled ? `\n${what} from a sample of the ${count} matching entries (--max-entries)\n` : '');

function clustersText(r: ClusterReport): string {
  let out =
    `${r.clusters.length} clusters among ${r.sampled} sampled entries; ${r.unclustered} unclustered ` +
    `(similarity threshold ${round(r.threshold, 3)}, min size ${r.minSize})\n`;
  r.clusters.forEach((c, i) => {
    out += `\n#${i + 1}  ${c.size} entries, ${c.first} .. ${c.last}\n`;
    out += table(['', ''], [
      ['representative', c.representative],
      ['nearest', c.nearest.join(', ') || '-'],
      ['error codes', top(c.error_codes)],
      ['models', top(c.models)],
      ['tags', top(c.tags)],
    ]).split('\n').slice(1).map((line) => (line ? `  ${line}` : line)).join('\n');
  });
  return out;
}

function routingText(r: RoutingReport): string {
  const chosen = Object.keys(r.matrix).sort();
  const served = [...new Set(Object.values(r.matrix).flatMap((row) => Object.keys(row)))].sort();
  let out = `${r.count} entries\n\nrouted to (rows) / served by (columns)\n`;
  out += table(['routed', ...served, 'total'], chosen.map((m) => {
    const row = r.matrix[m]!;
    return [m, ...served.map((s) => row[s] ?? 0), Object.values(row).reduce((a, b) => a + b, 0)];
  }));
  out += `\nconfidence per routed model\n`;
  out += table(['routed', 'n', 'min', 'q1', 'median', 'q3', 'max'], Object.entries(r.confidence).map(([m, q]) => [m, q.count, ...[q.min, q.q1, q.median, q.q3, q.max].map((x) => round(x, 3))]));
  out += `\ntop routing probability below 0.5: ${r.unsure.count} of ${r.count} (${percent(r.unsure.share)})\n`;
  return out + sampleNote(r.sampled, r.count, 'confidence quartiles');
}

function qualityText(r: QualityReport): string {
  if (r.buckets.length === 0) return 'no matching entries\n';
  const rows = r.buckets.map((b) => [b.start, b.model, b.count, percent(b.successRate), b.scored, round(b.mean, 3), round(b.p10, 3), round(b.p50, 3)]);
  return table(['bucket', 'model', 'entries', 'success', 'scored', 'mean_quality', 'p10', 'p50'], rows) + sampleNote(r.sampled, r.count, 'buckets');
}

function latencyText(r: LatencyReport): string {
  const rows = Object.entries(r.components).map(([name, p]) => [name, round(p.p50, 1), round(p.p95, 1), round(p.p99, 1), name === 'total' ? '' : (r.slowest[name] ?? 0)]);
  return `${r.count} entries (milliseconds; slowest: entries where the component took longest)\n` + table(['component', 'p50', 'p95', 'p99', 'slowest'], rows) + sampleNote(r.sampled, r.count, 'percentiles');
}
