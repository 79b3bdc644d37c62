// Reading the dead-letter topic back (witness dlq list | show | redrive): every
// letter from the beginning up to the high watermarks seen at start, parsed
// from the headers dead-letter.ts writes. It reads with a throw-away consumer
// group that never commits and is deleted afterwards, so it moves no one's
// offsets. The letters are held in memory: a DLQ is small next to the log, and
// a list or a re-drive wants them all.
import type kafkajs from 'kafkajs';
import { DLQ_HEADERS } from '../ingest/dead-letter.js';
import { UnknownTopicError } from '../errors.js';
import type { RecordHeaders } from '../ingest/kafka.js';

/** Added to a re-driven record: the letter it came from, `<dlq topic>/<partition>:<offset>`. */
export const REDRIVEN_FROM_HEADER = 'witness-redriven-from';

export interface Letter {
  partition: number;
  offset: string;
  reason: string;
  error: string;
  sourceTopic: string;
  sourcePartition: number | null;
  sourceOffset: string | null;
  /** When the consumer wrote the letter (RFC 3339), or null if the header is missing. */
  at: string | null;
  key: Buffer | null;
  value: Buffer | null;
  /** The original record's headers, without ours. */
  headers: RecordHeaders;
  /** Why it cannot be re-driven (its value or key was left out to fit the DLQ), or null. */
  unredrivable: string | null;
}

const OURS = new Set<string>(Object.values(DLQ_HEADERS));

function text(v: RecordHeaders[string]): string | null {
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? null : one.toString();
}

export function parseLetter(m: { partition: number; offset: string; key: Buffer | null; value: Buffer | null; headers?: RecordHeaders }): Letter {
  const h = m.headers ?? {};
  const headers: RecordHeaders = {};
  for (const [name, value] of Object.entries(h)) if (!OURS.has(name)) headers[name] = value;
  const sp = text(h[DLQ_HEADERS.sourcePartition]);
  const omitted = [DLQ_HEADERS.valueOmitted, DLQ_HEADERS.keyOmitted, DLQ_HEADERS.headersOmitted].filter((n) => text(h[n]) !== null);
  return {
    partition: m.partition,
    offset: m.offset,
    reason: text(h[DLQ_HEADERS.reason]) ?? 'UNKNOWN',
    error: text(h[DLQ_HEADERS.error]) ?? '',
    sourceTopic: text(h[DLQ_HEADERS.sourceTopic]) ?? '',
    sourcePartition: sp !== null && /^\d+$/.test(sp) ? Number(sp) : null,
    sourceOffset: text(h[DLQ_HEADERS.sourceOffset]),
    at: text(h[DLQ_HEADERS.timestamp]),
    key: m.key,
    value: m.value,
    headers,
    unredrivable: omitted.length > 0 ? `reduced to fit the DLQ (${omitted.join(', ')})` : text(h[DLQ_HEADERS.sourceTopic]) ? null : 'no source topic header',
  };
}

/** Every letter of `topic` up to the high watermarks at start, oldest first per partition. */
export async function readLetters(kafka: kafkajs.Kafka, topic: string): Promise<Letter[]> {
  const groupId = `witness-dlq-read-${process.pid}-${Date.now().toString(36)}`;
  const letters: Letter[] = [];
  const admin = kafka.admin();
  await admin.connect();
  try {
    await consumeLetters(kafka, topic, { groupId, onLetter: async (l) => void letters.push(l) });
  } finally {
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
  return letters.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/**
 * Each letter of `topic` after `groupId`'s committed offsets (the beginning if none) up to the
 * high watermarks at start, to `onLetter` in order per partition; resolves once all are handled.
 * The group never commits by itself: `onLetter` may (redrive.ts does, after each letter).
 */
export async function consumeLetters(
  kafka: kafkajs.Kafka,
  topic: string,
  { groupId, onLetter }: { groupId: string; onLetter: (l: Letter, consumer: kafkajs.Consumer) => Promise<void> },
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  let remaining: Map<number, bigint>;
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new UnknownTopicError(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const from = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    const offsets = await admin.fetchTopicOffsets(topic);
    // A partition with no commit (offset -1) starts at its low watermark.
    const start = (o: { partition: number; low: string }) => {
      const c = from.get(o.partition) ?? -1n;
      return c < 0n ? BigInt(o.low) : c;
    };
    remaining = new Map(offsets.filter((o) => BigInt(o.high) > start(o)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  if (remaining.size === 0) return;
  const targets = new Map(remaining);
  let failed = false;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const target = targets.get(partition);
            if (failed || target === undefined || BigInt(message.offset) >= target) return;
            // A failure ends the run (kafkajs would retry the message forever): nothing after it is handled or committed.
            try {
              await onLetter(parseLetter({ partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers as RecordHeaders }), consumer);
            } catch (err) {
              failed = true;
              reject(err);
              return;
            }
            if (BigInt(message.offset) + 1n >= target) remaining.delete(partition);
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}
