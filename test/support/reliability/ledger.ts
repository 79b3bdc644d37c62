// The one accounting of the reliability suite. Every scenario creates its entries
// here (known request ids), records them through the ledger, and ends with
// verify(), which checks id by id:
//
// - every entry a producer accepted is in Qdrant exactly once (point id = its
//   request id) with a payload and vectors equal to what was recorded, or is in
//   the dead-letter topic with a reason;
// - every entry a producer refused is counted in its stats() and its drop metric
//   under the reason record() was refused for (read from the counter that moved);
// - every poison message is in the dead-letter topic with the expected reason;
// - nothing else is in Qdrant, and no accepted entry is missing.
//
// It prints the tally: produced, accepted, dropped by reason, stored, dead-lettered,
// missing, duplicated points.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { QdrantClient } from '@qdrant/js-client-rest';
import { pointToEntry, DLQ_HEADERS, type StoredPoint } from '@witnesslog/consumer';
import type { WitnessProducer, WitnessProducerStats } from '@witnesslog/producer';
import { createCodec, currentSchemaVersion, HEADER_BYTES, type WitnessEntry } from '@witnesslog/schemas';
import type { IHeaders } from 'kafkajs';
import { assertVectorClose, testEntry } from '../entries.js';
import { sample } from '../metrics.js';
import { readTopic, type KafkaAccess } from '../topic.js';

/** Small embeddings: the suite is about the pipeline, not about vector sizes (the producer tests use 768). */
export const DIM = 8;
export const codec = createCodec({ dim: DIM });

/** The header that names a poison message, so its dead letter can be found. */
export const POISON_ID_HEADER = 'witness-test-poison-id';

export type RefusalReason = 'invalid' | 'queue_full' | 'closed';
export interface RecordOutcome {
  accepted: boolean;
  /** Which drop counter moved, for a refused entry. */
  reason?: RefusalReason;
}

/**
 * record(), plus the reason of a refusal: the drop counter that moved during the call.
 * Producers are single-threaded, so nothing else moves those counters meanwhile
 * (send_failed can, but it counts accepted entries and is not a refusal).
 */
export function recordClassified(producer: WitnessProducer, entry: WitnessEntry): RecordOutcome {
  const before = producer.stats().dropped;
  if (producer.record(entry)) return { accepted: true };
  const after = producer.stats().dropped;
  for (const reason of ['invalid', 'queue_full', 'closed'] as const) {
    if (after[reason] === before[reason] + 1) return { accepted: false, reason };
  }
  throw new Error(`record() refused ${entry.request_id} but no drop counter moved: ${JSON.stringify({ before, after })}`);
}

interface Recorded {
  entry: WitnessEntry;
  producer: string;
  accepted: boolean;
  reason?: RefusalReason;
}

export interface PoisonMessage {
  id: string;
  kind: string;
  value: Buffer | null;
  expectedReason: string;
  headers: IHeaders;
}

export interface ProducerReport {
  name: string;
  stats: WitnessProducerStats;
  /** Its registry as Prometheus text, to check the drop metrics (omit when it had no registry). */
  metrics?: string;
}

export interface VerifyTarget {
  qdrant: QdrantClient;
  collection: string;
  kafka: KafkaAccess;
  dlqTopic: string;
  producers: ProducerReport[];
  /** Print the tally (t.diagnostic in a test). */
  print?: (line: string) => void;
}

export interface Tally {
  scenario: string;
  produced: number;
  accepted: number;
  dropped: Record<string, number>;
  stored: number;
  deadLettered: number;
  deadLetteredByReason: Record<string, number>;
  /** Dead letters beyond the first of the same message: a crash between DLQ write and commit. */
  deadLetterRepeats: number;
  poison: number;
  missing: number;
  duplicatedPoints: number;
  unexpectedPoints: number;
  mismatched: number;
}

export class Ledger {
  private readonly recorded = new Map<string, Recorded>();
  private readonly poisons = new Map<string, PoisonMessage>();
  private readonly sessions: string[];
  private count = 0;

  constructor(
    readonly scenario: string,
    /** Sessions are message keys: enough of them to spread over every partition. */
    sessions = 64,
  ) {
    this.sessions = Array.from({ length: sessions }, () => randomUUID());
  }

  /** A new entry with a known request id, not yet recorded. */
  entry(): WitnessEntry {
    const i = this.count++;
    return testEntry(DIM, i, this.sessions[i % this.sessions.length]!);
  }

  /** Records a new entry through `producer` (named `name` in the tally); true when accepted. */
  record(name: string, producer: WitnessProducer, entry: WitnessEntry = this.entry()): boolean {
    const outcome = recordClassified(producer, entry);
    this.note(name, entry, outcome);
    return outcome.accepted;
  }

  /** An entry recorded elsewhere (a producer in another process), with its outcome. */
  note(name: string, entry: WitnessEntry, outcome: RecordOutcome): void {
    if (this.recorded.has(entry.request_id)) throw new Error(`request id ${entry.request_id} recorded twice`);
    this.recorded.set(entry.request_id, { entry, producer: name, ...outcome });
  }

  get accepted(): number {
    let n = 0;
    for (const r of this.recorded.values()) if (r.accepted) n += 1;
    return n;
  }

  get produced(): number {
    return this.recorded.size;
  }

  /** A poison message of `kind` that the consumer must dead-letter with `expectedReason`. */
  poison(kind: PoisonKind): PoisonMessage {
    const id = randomUUID();
    const { value, reason } = poisonValue(kind, this.entry());
    const message: PoisonMessage = { id, kind, value, expectedReason: reason, headers: { [POISON_ID_HEADER]: id } };
    this.poisons.set(id, message);
    return message;
  }

  async verify({ qdrant, collection, kafka, dlqTopic, producers, print }: VerifyTarget): Promise<Tally> {
    const points = await readAllPoints(qdrant, collection);
    const letters = await readTopic(kafka, dlqTopic);

    // Dead letters, by entry id (decodable ones) or poison id.
    const lettersByEntry = new Map<string, string[]>();
    const lettersByPoison = new Map<string, string[]>();
    const deadLetteredByReason: Record<string, number> = {};
    let unknownLetters = 0;
    for (const m of letters) {
      const reason = header(m.headers, DLQ_HEADERS.reason) ?? '(no reason)';
      deadLetteredByReason[reason] = (deadLetteredByReason[reason] ?? 0) + 1;
      const poisonId = header(m.headers, POISON_ID_HEADER);
      let target = poisonId !== undefined ? lettersByPoison : undefined;
      let id = poisonId;
      if (id === undefined && m.value) {
        try {
          id = codec.decode(m.value, { validate: false }).request_id;
          target = lettersByEntry;
        } catch {
          /* not ours */
        }
      }
      if (id === undefined || target === undefined) {
        unknownLetters += 1;
        continue;
      }
      target.set(id, [...(target.get(id) ?? []), reason]);
    }
    const deadLetterRepeats = [...lettersByEntry.values(), ...lettersByPoison.values()].reduce((n, rs) => n + rs.length - 1, 0);

    // Points: ids are unique in a collection; a "duplicate" would be one entry under two ids.
    const pointsById = new Map<string, StoredPoint>();
    const byRequestId = new Map<string, number>();
    let unexpectedPoints = 0;
    for (const p of points) {
      const id = String(p.id);
      pointsById.set(id, p);
      const requestId = String(p.payload?.request_id);
      byRequestId.set(requestId, (byRequestId.get(requestId) ?? 0) + 1);
      const r = this.recorded.get(id);
      if (!r || !r.accepted || requestId !== id) unexpectedPoints += 1;
    }
    const duplicatedPoints = [...byRequestId.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);

    let stored = 0;
    let deadLettered = 0;
    let missing = 0;
    let mismatched = 0;
    const problems: string[] = [];
    const dropped: Record<string, number> = {};
    for (const [id, r] of this.recorded) {
      if (!r.accepted) {
        dropped[r.reason!] = (dropped[r.reason!] ?? 0) + 1;
        if (pointsById.has(id)) problems.push(`refused entry ${id} (${r.reason}) is in Qdrant`);
        continue;
      }
      const point = pointsById.get(id);
      if (point) {
        stored += 1;
        const difference = compare(point, r.entry);
        if (difference !== undefined) {
          mismatched += 1;
          if (mismatched <= 5) problems.push(`point ${id} differs from the recorded entry: ${difference}`);
        }
      } else if (lettersByEntry.has(id)) {
        deadLettered += 1;
      } else {
        missing += 1;
        if (missing <= 5) problems.push(`accepted entry ${id} (producer ${r.producer}) is neither in Qdrant nor dead-lettered`);
      }
    }
    let poisonFound = 0;
    for (const [id, p] of this.poisons) {
      const reasons = lettersByPoison.get(id);
      if (!reasons) {
        problems.push(`poison ${p.kind} (${id}) is not in the dead-letter topic`);
        continue;
      }
      poisonFound += 1;
      if (!reasons.every((reason) => reason === p.expectedReason)) {
        problems.push(`poison ${p.kind} dead-lettered as ${reasons.join(', ')}, expected ${p.expectedReason}`);
      }
    }
    if (unknownLetters > 0) problems.push(`${unknownLetters} dead letters that are neither a recorded entry nor a poison message`);

    const tally: Tally = {
      scenario: this.scenario,
      produced: this.recorded.size + this.poisons.size,
      accepted: this.accepted,
      dropped,
      stored,
      deadLettered,
      deadLetteredByReason,
      deadLetterRepeats,
      poison: this.poisons.size,
      missing,
      duplicatedPoints,
      unexpectedPoints,
      mismatched,
    };
    print?.(formatTally(tally));

    // The producers' own counts and metrics against what record() answered.
    for (const report of producers) {
      const mine = [...this.recorded.values()].filter((r) => r.producer === report.name);
      const { stats } = report;
      assert.equal(stats.total, mine.filter((r) => r.accepted).length, `${report.name}: stats().total vs entries accepted`);
      assert.equal(stats.pending, 0, `${report.name}: nothing pending at the end`);
      assert.equal(stats.dropped.send_failed, 0, `${report.name}: no accepted entry dropped (send_failed)`);
      assert.equal(stats.delivered, stats.total, `${report.name}: delivered = accepted`);
      for (const reason of ['invalid', 'queue_full', 'closed'] as const) {
        const refused = mine.filter((r) => r.reason === reason).length;
        assert.equal(stats.dropped[reason], refused, `${report.name}: stats().dropped.${reason} vs refusals seen`);
        if (report.metrics !== undefined) {
          assert.equal(sample(report.metrics, 'witness_producer_entries_dropped_total', { reason }), refused, `${report.name}: dropped{reason="${reason}"} metric`);
        }
      }
      if (report.metrics !== undefined) {
        assert.equal(sample(report.metrics, 'witness_producer_entries_dropped_total', { reason: 'send_failed' }), 0, `${report.name}: dropped{send_failed} metric`);
        assert.equal(sample(report.metrics, 'witness_producer_entries_recorded_total'), stats.total, `${report.name}: recorded metric`);
      }
    }
    assert.deepEqual(problems, [], `${this.scenario}: ${formatTally(tally)}`);
    assert.equal(missing, 0, 'missing');
    assert.equal(duplicatedPoints, 0, 'duplicated points');
    assert.equal(unexpectedPoints, 0, 'points that no producer accepted');
    assert.equal(mismatched, 0, 'points that differ from their entry');
    assert.equal(poisonFound, this.poisons.size, 'poison dead-lettered');
    return tally;
  }
}

export function formatTally(t: Tally): string {
  const reasons = (r: Record<string, number>) =>
    Object.keys(r).length === 0 ? 'none' : Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', ');
  return (
    `[${t.scenario}] produced ${t.produced} (${t.poison} poison), accepted ${t.accepted}, dropped ${reasons(t.dropped)}; ` +
    `stored ${t.stored}, dead-lettered ${t.deadLettered} entries + ${t.poison} poison (by reason: ${reasons(t.deadLetteredByReason)}` +
    `${t.deadLetterRepeats > 0 ? `, ${t.deadLetterRepeats} repeated after a crash` : ''}); ` +
    `missing ${t.missing}, duplicated points ${t.duplicatedPoints}, unexpected points ${t.unexpectedPoints}, mismatched ${t.mismatched}`
  );
}

function header(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v[0] : v)?.toString();
}

/** undefined when the stored point gives back the recorded entry, field for field. */
function compare(point: StoredPoint, entry: WitnessEntry): string | undefined {
  try {
    const expected = codec.decode(codec.encode(entry));
    const { query_embedding: q, response_embedding: r, ...fields } = pointToEntry(point);
    const { query_embedding: eq, response_embedding: er, ...expectedFields } = expected;
    // An entry recorded through the SDK gets the SDK's producer identity (its id and
    // seq are the instance's own); one produced raw keeps what it was encoded with.
    const { producer, ...rest } = fields;
    const { producer: expectedProducer, ...expectedRest } = expectedFields;
    assert.deepEqual(rest, expectedRest);
    if (expectedProducer !== null) assert.deepEqual(producer, expectedProducer);
    assertVectorClose(q, eq, 'query_embedding');
    assertVectorClose(r, er, 'response_embedding');
    return undefined;
  } catch (err) {
    return (err as Error).message.slice(0, 500);
  }
}

async function readAllPoints(qdrant: QdrantClient, collection: string): Promise<StoredPoint[]> {
  const out: StoredPoint[] = [];
  let offset: string | number | undefined;
  for (;;) {
    const page = await qdrant.scroll(collection, { limit: 1000, with_payload: true, with_vector: true, ...(offset === undefined ? {} : { offset }) });
    out.push(...(page.points as StoredPoint[]));
    const next = page.next_page_offset;
    if (next === null || next === undefined || typeof next === 'object') return out;
    offset = next;
  }
}

// --- poison -------------------------------------------------------------------

export const POISON_KINDS = ['garbage', 'truncated', 'unknown-fingerprint', 'wrong-dimensions', 'nan', 'oversize-field', 'trailing-bytes', 'empty'] as const;
export type PoisonKind = (typeof POISON_KINDS)[number];

const codecOtherDim = createCodec({ dim: DIM * 2 });

/**
 * What a buggy or hostile writer puts on the topic, bypassing the SDK's validation
 * (avsc's type is used directly where the codec would refuse), and the reason the
 * consumer must give when it dead-letters it.
 */
function poisonValue(kind: PoisonKind, entry: WitnessEntry): { value: Buffer | null; reason: string } {
  const valid = codec.encode(entry);
  const header = valid.subarray(0, HEADER_BYTES);
  const raw = (e: object) => Buffer.concat([header, currentSchemaVersion.type.toBuffer(e)]);
  const decoded = codec.decode(valid);
  switch (kind) {
    case 'garbage':
      return { value: Buffer.from(`garbage ${randomUUID()} \u0000\u00ff`), reason: 'WITNESS_BAD_MARKER' };
    case 'truncated':
      return { value: valid.subarray(0, Math.floor(valid.length / 2)), reason: 'WITNESS_TRUNCATED' };
    case 'unknown-fingerprint': {
      const value = Buffer.from(valid);
      value.writeBigUInt64LE(0x0badc0ffee0ddf00dn, 2);
      return { value, reason: 'WITNESS_UNKNOWN_FINGERPRINT' };
    }
    case 'wrong-dimensions':
      return {
        value: codecOtherDim.encode({ ...entry, query_embedding: new Float32Array(DIM * 2).fill(0.25), response_embedding: [] }),
        reason: 'WITNESS_INVALID_ENTRY',
      };
    case 'nan':
      return { value: raw({ ...decoded, quality_score: Number.NaN }), reason: 'WITNESS_INVALID_ENTRY' };
    case 'oversize-field':
      return {
        value: raw({ ...decoded, error: { code: 'HUGE', message: 'x', stack_trace: 'at f()\n'.repeat(6_000), recovery_attempted: false } }),
        reason: 'WITNESS_INVALID_ENTRY',
      };
    case 'trailing-bytes':
      return { value: Buffer.concat([valid, Buffer.from([1, 2, 3])]), reason: 'WITNESS_MALFORMED_BODY' };
    case 'empty':
      return { value: null, reason: 'WITNESS_EMPTY_MESSAGE' };
  }
}
