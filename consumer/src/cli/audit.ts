// `witness audit [--since 1h] [--service S] [--producer ID] [--grace 2m] [--json]`:
// the audit of the query library (query/audit.ts), as a table or JSON. Exit 0
// when every seq is accounted for, 1 when some are unaccounted or a producer's
// checkpoints cannot be reconciled: a script (or cron) branches on it.
import { duration, toFilter, UsageError, type Values } from './args.js';
import { json, table } from './format.js';
import type { WitnessQuery } from '../query/query.js';
import type { AuditReport } from '../query/audit.js';

export async function runAudit(q: WitnessQuery, values: Values, io: { stdout: (text: string) => void }): Promise<0 | 1> {
  if (values.until !== undefined) throw new UsageError('--until is not an option of "witness audit" (the window ends now)');
  const { since, service, producerId } = toFilter(values);
  const graceMs = values.grace === undefined ? undefined : values.grace === '0' ? 0 : duration('--grace', values.grace);
  const report = await q.audit({
    ...(since !== undefined ? { since: new Date(since) } : {}),
    ...(service !== undefined ? { service } : {}),
    ...(producerId !== undefined ? { producerId } : {}),
    ...(graceMs !== undefined ? { graceMs } : {}),
  });
  io.stdout(values.json ? json(report) : auditTable(report));
  return report.unaccounted > 0 || report.producers.some((p) => !p.reconcilable) ? 1 : 0;
}

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);
const reasons = (counts: Record<string, number>): string => Object.entries(counts).map(([r, n]) => `${r} ${n}`).join(', ');

export function auditTable(r: AuditReport): string {
  const lines: string[] = [`window ${r.window.since} .. ${r.window.until} (grace ${r.window.grace_ms / 1000} s)`];
  if (r.producers.length === 0) lines.push('no producer active in the window');
  else {
    const rows = r.producers.map((p) => [p.service ?? '?', p.id, `${p.first_seq}..${p.last_seq}`, p.stored, p.dead_lettered, sum(p.dropped), p.in_flight, p.unaccounted]);
    lines.push(table(['service', 'producer', 'seqs', 'stored', 'dead-lettered', 'dropped', 'in flight', 'unaccounted'], rows).trimEnd());
  }
  for (const p of r.producers) {
    const notes: string[] = [];
    if (p.dead_lettered > 0) notes.push(`  dead-lettered: ${reasons(p.dead_lettered_by_reason)}`);
    if (sum(p.dropped) > 0) notes.push(`  dropped at the source: ${reasons(p.dropped)}`);
    for (const n of p.neighbours) notes.push(`  MISSING seqs ${n.from}..${n.to} (stored neighbours: ${n.before ?? 'none'} / ${n.after ?? 'none'})`);
    if (p.missing.length > p.neighbours.length) notes.push(`  … and ${p.missing.length - p.neighbours.length} more missing ranges (--json lists them)`);
    for (const pr of p.problems) notes.push(`  ${pr.kind}: ${pr.message}`);
    if (!p.reconcilable) notes.push('  NOT RECONCILABLE: these counts rest on contradictory checkpoints');
    if (notes.length > 0) lines.push(`${p.id}:`, ...notes);
  }
  for (const u of r.undecodable) lines.push(`undecodable dead letter ${u.topic} ${u.partition}:${u.offset} (${u.reason}, ${u.at})`);
  for (const pr of r.problems) lines.push(`${pr.kind}: ${pr.message}`);
  lines.push(r.unaccounted === 0 ? 'every entry is accounted for' : `${r.unaccounted} entries UNACCOUNTED`);
  return `${lines.join('\n')}\n`;
}
