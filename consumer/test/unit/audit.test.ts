// The audit's rules on their own: the gap finder against a set of stored seqs,
// and one producer's reconciliation against an in-memory source, so each seq's
// fate (stored, dead-lettered, dropped, in flight, unaccounted) is checked exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findHoles, subtract, type SeqRange } from '../../src/query/audit-gaps.js';
import { auditProducer } from '../../src/query/audit-producer.js';
import type { AuditSources, CheckpointPoint, DeadLetterPoint } from '../../src/query/audit-sources.js';

const ID = '11111111-2222-4333-8444-555555555555';
const NOW = Date.parse('2026-12-03T12:00:00Z');
const iso = (ago: number) => new Date(NOW - ago).toISOString();

function counter(stored: number[]): { count: (r: readonly SeqRange[]) => Promise<number>; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    count: async (ranges) => {
      calls++;
      return stored.filter((s) => ranges.some(([a, b]) => s >= a && s <= b)).length;
    },
  };
}

test('findHoles finds every gap of a million seqs with a few hundred counts', async () => {
  const gone = [0, 17, 18, 19, 500_000, 999_999];
  let calls = 0;
  // Every seq of 0..999,999 stored but `gone`, counted arithmetically.
  const count = async (ranges: readonly SeqRange[]) => {
    calls++;
    return ranges.reduce((n, [a, b]) => n + (b - a + 1) - gone.filter((s) => s >= a && s <= b).length, 0);
  };
  const { holes, duplicates } = await findHoles([[0, 999_999]], count);
  assert.deepEqual(holes, [[0, 0], [17, 19], [500_000, 500_000], [999_999, 999_999]]);
  assert.deepEqual(duplicates, []);
  assert.ok(calls < 400, `${calls} counts`);
});

test('findHoles: nothing stored is one gap, everything stored none, duplicates are named', async () => {
  assert.deepEqual((await findHoles([[5, 9], [20, 30]], counter([]).count)).holes, [[5, 9], [20, 30]]);
  assert.deepEqual((await findHoles([[0, 9]], counter([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).count)).holes, []);
  // seq 3 twice, 7 and 9 missing: the halves' counts tell them apart.
  const r = await findHoles([[0, 9]], counter([0, 1, 2, 3, 3, 4, 5, 6, 8]).count);
  assert.deepEqual(r.holes, [[7, 7], [9, 9]]);
  assert.deepEqual(r.duplicates, [3]);
});

test('subtract leaves what the second set does not cover', () => {
  assert.deepEqual(subtract([[0, 20]], [[0, 2], [5, 5], [18, 25]]), [[3, 4], [6, 17]]);
});

function checkpoint(seq: number, ago: number, high: number, undelivered: CheckpointPoint['undelivered'] = [], extra: Partial<CheckpointPoint> = {}): CheckpointPoint {
  return { producer_id: ID, service: 'svc', host: 'h', checkpoint_seq: seq, sent_at: iso(ago), high_seq: high, undelivered, truncated: false, final: false, ...extra };
}

/** An AuditSources over arrays: stored seqs (with timestamps), checkpoints, dead letters. */
function source({ stored, timestamps = () => iso(60_000), checkpoints = [], letters = [], services = ['svc'] }: {
  stored: number[];
  timestamps?: (seq: number) => string;
  checkpoints?: CheckpointPoint[];
  letters?: DeadLetterPoint[];
  services?: string[];
}): AuditSources {
  const c = counter(stored);
  const top = Math.max(-1, ...stored);
  return {
    requests: 0,
    hasCheckpointCollection: true,
    checkpoints: async () => checkpoints,
    deadLetters: async () => letters,
    checkpointBefore: async (_id, before) => checkpoints.filter((k) => Date.parse(k.sent_at) < before.getTime()).sort((a, b) => b.checkpoint_seq - a.checkpoint_seq)[0],
    activeProducers: async () => [ID],
    highestStored: async () => (top < 0 ? undefined : { seq: top, timestamp: timestamps(top), host: 'h', service: services[0]! }),
    entryServices: async () => services,
    countSeqs: async (_id, ranges) => c.count(ranges),
    timestampsAt: async (_id, seqs) => new Map(seqs.filter((s) => stored.includes(s)).map((s) => [s, timestamps(s)])),
  };
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const audit = (src: AuditSources, checkpoints: CheckpointPoint[], graceMs = 120_000) =>
  auditProducer(src, { id: ID, checkpoints, windowStart: new Date(NOW - 3_600_000), now: NOW, graceMs });

test('each seq is stored, dead-lettered, dropped or unaccounted, exactly', async () => {
  const cps = [checkpoint(0, 1_200_000, 49, [{ from: 10, to: 14, reason: 'queue_full' }, { from: 30, to: 30, reason: 'send_failed' }])];
  const stored = range(0, 49).filter((s) => !(s >= 10 && s <= 14) && s !== 30 && s !== 40 && s !== 41 && s !== 45);
  const letters: DeadLetterPoint[] = [{ topic: 't', partition: 0, offset: '7', reason: 'WITNESS_CONFLICTING_ENTRY', at: iso(1_000_000), producer_id: ID, seq: 45, service: 'svc' }];
  const r = await audit(source({ stored, checkpoints: cps, letters }), cps);
  assert.equal(r.first_seq, 0);
  assert.equal(r.last_seq, 49);
  assert.equal(r.stored, 41);
  assert.deepEqual(r.dropped, { queue_full: 5, send_failed: 1 });
  assert.equal(r.dead_lettered, 1);
  assert.deepEqual(r.dead_lettered_by_reason, { WITNESS_CONFLICTING_ENTRY: 1 });
  assert.equal(r.unaccounted, 2);
  assert.deepEqual(r.missing, [[40, 41]]);
  assert.equal(r.neighbours[0]!.before, iso(60_000));
  assert.equal(r.reconcilable, true);
});

test('after a SIGKILL: in flight within the grace window, unaccounted after it', async () => {
  const stored = range(0, 79);
  const cps = [checkpoint(0, 30_000, 99)];
  const fresh = await audit(source({ stored, checkpoints: cps, timestamps: () => iso(30_000) }), cps);
  assert.equal(fresh.in_flight, 20);
  assert.equal(fresh.unaccounted, 0);
  const late = await audit(source({ stored, checkpoints: cps, timestamps: () => iso(30_000) }), cps, 10_000);
  assert.equal(late.in_flight, 0);
  assert.deepEqual(late.missing, [[80, 99]]);
});

test('no checkpoint at all is never silently fine', async () => {
  const stored = range(0, 9).filter((s) => s !== 4);
  const r = await audit(source({ stored, timestamps: () => iso(600_000) }), []);
  assert.deepEqual(r.missing, [[4, 4]]);
  assert.ok(r.problems.some((p) => p.kind === 'no_checkpoint'));
});

test('what cannot be reconciled is reported, not trusted', async () => {
  const cps = [checkpoint(0, 900_000, 20), checkpoint(1, 600_000, 10, [{ from: 15, to: 30, reason: 'closed' }], { truncated: true, service: 'other' })];
  const r = await audit(source({ stored: range(0, 20), checkpoints: cps }), cps);
  const kinds = r.problems.map((p) => p.kind).sort();
  assert.deepEqual(kinds, ['high_seq_decreased', 'range_above_high_mark', 'service_conflict', 'truncated']);
  assert.equal(r.reconcilable, false);
  assert.deepEqual(r.dropped, {});
});

test('a window starts after the high mark of the last checkpoint before it', async () => {
  const cps = [checkpoint(0, 7_200_000, 99), checkpoint(1, 600_000, 149)];
  const r = await audit(source({ stored: range(100, 149), checkpoints: cps }), cps.slice(1));
  assert.equal(r.first_seq, 100);
  assert.equal(r.stored, 50);
  assert.equal(r.unaccounted, 0);
});
