// The audit of one producer instance: which of its seqs are stored, dead-lettered,
// dropped at the source, in flight or unaccounted, and what in its checkpoints
// cannot be reconciled. The rules are in audit.ts's header.
import { clip, findHoles, intersect, merge, rangeSize, subtract, toRanges, type SeqRange } from './audit-gaps.js';
import type { AuditSources, CheckpointPoint, DeadLetterPoint } from './audit-sources.js';

export interface AuditProblem {
  /** service_conflict, high_seq_decreased, truncated, seq_above_high_mark, range_above_high_mark, duplicate_seq, no_checkpoint. */
  kind: string;
  message: string;
}

export interface ProducerAudit {
  id: string;
  service: string | null;
  host: string | null;
  first_seq: number;
  last_seq: number;
  stored: number;
  dead_lettered: number;
  dead_lettered_by_reason: Record<string, number>;
  dropped: Record<string, number>;
  in_flight: number;
  unaccounted: number;
  missing: SeqRange[];
  /** Per missing range (the first 100), the timestamps of the stored entries at from-1 and to+1 (null: none stored). */
  neighbours: Array<{ from: number; to: number; before: string | null; after: string | null }>;
  /** False when its checkpoints contradict themselves or the log: its counts are then not to be trusted. */
  reconcilable: boolean;
  problems: AuditProblem[];
  last_checkpoint: { checkpoint_seq: number; sent_at: string; high_seq: number; final: boolean } | null;
}

export interface ProducerInput {
  id: string;
  /** Its checkpoints sent in the window. */
  checkpoints: CheckpointPoint[];
  windowStart: Date;
  now: number;
  graceMs: number;
}

// Neighbour timestamps are looked up for this many missing ranges at most.
const MAX_NEIGHBOURS = 100;
// Problems that make a producer's numbers untrustworthy (no_checkpoint and duplicate_seq are reported, not disqualifying).
const DISQUALIFYING = new Set(['service_conflict', 'high_seq_decreased', 'truncated', 'seq_above_high_mark', 'range_above_high_mark']);

const ms = (t: string | undefined | null): number => (t ? Date.parse(t) : -Infinity);

/** The checkpoint consistency problems: the same id under two services, a high mark going backwards, ranges it cannot hold. */
function checkpointProblems(cps: CheckpointPoint[], services: Set<string>): AuditProblem[] {
  const problems: AuditProblem[] = [];
  if (services.size > 1) problems.push({ kind: 'service_conflict', message: `one producer id under services ${[...services].sort().join(', ')}` });
  for (let i = 1; i < cps.length; i++) {
    const [prev, cur] = [cps[i - 1]!, cps[i]!];
    if (cur.high_seq < prev.high_seq) {
      problems.push({ kind: 'high_seq_decreased', message: `checkpoint ${cur.checkpoint_seq} has high_seq ${cur.high_seq}, below ${prev.high_seq} of checkpoint ${prev.checkpoint_seq}` });
    }
  }
  const latest = cps[cps.length - 1];
  if (latest?.truncated) problems.push({ kind: 'truncated', message: `checkpoint ${latest.checkpoint_seq} left undelivered ranges out (truncated): its drops cannot be told from losses` });
  for (const r of latest?.undelivered ?? []) {
    if (r.to > latest!.high_seq || r.from > r.to || r.from < 0) {
      problems.push({ kind: 'range_above_high_mark', message: `checkpoint ${latest!.checkpoint_seq} claims ${r.reason} [${r.from}, ${r.to}] beyond its high_seq ${latest!.high_seq}; ignored` });
    }
  }
  return problems;
}

/** Dropped ranges per reason from the latest checkpoint, only the plausible ones, inside [first, last]. */
function droppedRanges(latest: CheckpointPoint | undefined, first: number, last: number): Map<string, SeqRange[]> {
  const out = new Map<string, SeqRange[]>();
  for (const r of latest?.undelivered ?? []) {
    if (r.to > latest!.high_seq || r.from > r.to || r.from < 0) continue;
    out.set(r.reason, merge([...(out.get(r.reason) ?? []), ...clip([[r.from, r.to]], first, last)]));
  }
  return out;
}

/** Dead-lettered seqs in [first, last], each once, with the reason of its first letter. */
function deadLetteredSeqs(letters: DeadLetterPoint[], first: number, last: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const l of [...letters].sort((a, b) => ms(a.at) - ms(b.at))) {
    if (typeof l.seq === 'number' && l.seq >= first && l.seq <= last && !out.has(l.seq)) out.set(l.seq, l.reason);
  }
  return out;
}

export async function auditProducer(src: AuditSources, { id, checkpoints, windowStart, now, graceMs }: ProducerInput): Promise<ProducerAudit> {
  const [before, highest, services, letters] = await Promise.all([
    src.checkpointBefore(id, windowStart),
    src.highestStored(id),
    src.entryServices(id),
    src.deadLetters([{ key: 'producer_id', match: { value: id } }]),
  ]);
  const cps = [...(before ? [before] : []), ...checkpoints].sort((a, b) => a.checkpoint_seq - b.checkpoint_seq);
  const latest = cps[cps.length - 1];
  const allServices = new Set([...cps.map((c) => c.service), ...services, ...letters.flatMap((l) => (l.service ? [l.service] : []))]);
  const problems = checkpointProblems(cps, allServices);
  if (!latest) problems.push({ kind: 'no_checkpoint', message: 'no checkpoint from this producer: seqs after its highest stored one cannot be known' });
  if (latest && highest && highest.seq > latest.high_seq && ms(latest.sent_at) > ms(highest.timestamp) + graceMs) {
    problems.push({ kind: 'seq_above_high_mark', message: `seq ${highest.seq} is stored, above high_seq ${latest.high_seq} of checkpoint ${latest.checkpoint_seq}, sent after it` });
  }

  // The window starts after the high mark of the last checkpoint before it (0 for a new instance).
  const first = before ? before.high_seq + 1 : 0;
  const letterSeqs = letters.flatMap((l) => (typeof l.seq === 'number' ? [l.seq] : []));
  const last = Math.max(latest?.high_seq ?? -1, highest?.seq ?? -1, ...letterSeqs);
  const counts = await reconcile(src, { id, first, last, latest, letters, cps, now, graceMs, highestAt: highest?.timestamp });
  problems.push(...counts.duplicates.map((s) => ({ kind: 'duplicate_seq', message: `seq ${s} is stored more than once` })));
  return {
    id,
    service: latest?.service ?? highest?.service ?? null,
    host: latest?.host ?? highest?.host ?? null,
    first_seq: first,
    last_seq: last,
    ...counts.result,
    reconcilable: !problems.some((p) => DISQUALIFYING.has(p.kind)),
    problems,
    last_checkpoint: latest ? { checkpoint_seq: latest.checkpoint_seq, sent_at: latest.sent_at, high_seq: latest.high_seq, final: latest.final } : null,
  };
}

type Counts = Pick<ProducerAudit, 'stored' | 'dead_lettered' | 'dead_lettered_by_reason' | 'dropped' | 'in_flight' | 'unaccounted' | 'missing' | 'neighbours'>;

async function reconcile(
  src: AuditSources,
  o: { id: string; first: number; last: number; latest: CheckpointPoint | undefined; letters: DeadLetterPoint[]; cps: CheckpointPoint[]; now: number; graceMs: number; highestAt: string | undefined },
): Promise<{ result: Counts; duplicates: number[] }> {
  const result: Counts = { stored: 0, dead_lettered: 0, dead_lettered_by_reason: {}, dropped: {}, in_flight: 0, unaccounted: 0, missing: [], neighbours: [] };
  if (o.last < o.first) return { result, duplicates: [] };
  const dropped = droppedRanges(o.latest, o.first, o.last);
  const dlSeqs = deadLetteredSeqs(o.letters, o.first, o.last);
  const explained = merge([...[...dropped.values()].flat(), ...toRanges(dlSeqs.keys())]);
  const unexplained = subtract([[o.first, o.last]], explained);
  const count = (ranges: readonly SeqRange[]) => src.countSeqs(o.id, ranges);
  const [stored, holesE, holesU] = await Promise.all([count([[o.first, o.last]]), findHoles(explained, count), findHoles(unexplained, count)]);
  result.stored = stored;

  // An explained hole is dead-lettered if a letter names it (a re-driven, stored one is no hole), else dropped.
  for (const [a, b] of holesE.holes) {
    for (let s = a; s <= b && dlSeqs.size > 0; s++) {
      const reason = dlSeqs.get(s);
      if (reason === undefined) continue;
      result.dead_lettered++;
      result.dead_lettered_by_reason[reason] = (result.dead_lettered_by_reason[reason] ?? 0) + 1;
    }
  }
  const dlRanges = toRanges(dlSeqs.keys());
  for (const [reason, ranges] of dropped) {
    const n = rangeSize(subtract(intersect(holesE.holes, ranges), dlRanges));
    if (n > 0) result.dropped[reason] = n;
  }

  // In flight: after the high mark of the last checkpoint older than the grace
  // window, while the producer was heard from (checkpoint or entry) within it.
  const settled = o.cps.filter((c) => ms(c.sent_at) <= o.now - o.graceMs).reduce((h, c) => Math.max(h, c.high_seq), -1);
  const lastSeen = Math.max(ms(o.latest?.sent_at), ms(o.highestAt));
  const inFlight = o.now - lastSeen < o.graceMs ? clip(holesU.holes, settled + 1, Number.MAX_SAFE_INTEGER) : [];
  result.in_flight = rangeSize(inFlight);
  result.missing = subtract(holesU.holes, inFlight);
  result.unaccounted = rangeSize(result.missing);
  result.neighbours = await neighbours(src, o.id, result.missing.slice(0, MAX_NEIGHBOURS));
  return { result, duplicates: [...holesU.duplicates, ...holesE.duplicates].sort((a, b) => a - b) };
}

async function neighbours(src: AuditSources, id: string, missing: SeqRange[]): Promise<Counts['neighbours']> {
  if (missing.length === 0) return [];
  const seqs = missing.flatMap(([a, b]) => [a - 1, b + 1]).filter((s) => s >= 0);
  const at = await src.timestampsAt(id, seqs);
  return missing.map(([from, to]) => ({ from, to, before: at.get(from - 1) ?? null, after: at.get(to + 1) ?? null }));
}
