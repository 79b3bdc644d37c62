// The dead-letter topic: where a message goes when it can never become a point
// (undecodable, unknown schema, invalid entry, refused by Qdrant). It keeps the
// original key, bytes and headers, and says why and where it came from in headers,
// so it can be inspected, fixed and replayed. A dead letter counts as handled
// only once the broker acknowledged it with acks=all; until then the source
// offset does not move past it.
import type { Logger } from 'pino';
import { DeadLetterError } from './errors.js';
import type { RecordHeaders, RecordProducer } from './kafka.js';
import type { ConsumerMetrics } from './metrics.js';
import type { Retry } from '@witnesslog/schemas';

/** Header names on every dead letter. */
export const DLQ_HEADERS = Object.freeze({
  reason: 'witness-dlq-reason',
  error: 'witness-dlq-error',
  sourceTopic: 'witness-source-topic',
  sourcePartition: 'witness-source-partition',
  sourceOffset: 'witness-source-offset',
  consumerGroup: 'witness-dlq-group',
  timestamp: 'witness-dlq-timestamp',
});

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders | undefined;
  /** A stable error code, e.g. WITNESS_BAD_MARKER; also the metric label. */
  reason: string;
  error: string;
}

export interface DeadLetterWriter {
  /** Resolves once every letter is acknowledged; retries until then unless `signal` aborts. */
  send(letters: readonly DeadLetter[], signal?: AbortSignal): Promise<void>;
}

// An error message is for a person reading the letter; a stack of 32 KiB is not.
const MAX_ERROR_CHARS = 2000;

export function createDeadLetterWriter({
  producer,
  topic,
  groupId,
  retry,
  metrics,
  logger,
}: {
  producer: RecordProducer;
  topic: string;
  groupId: string;
  retry: Retry;
  metrics: ConsumerMetrics;
  logger: Logger;
}): DeadLetterWriter {
  const log = logger.child({ component: 'dead-letter', topic });
  return {
    async send(letters, signal) {
      if (letters.length === 0) return;
      const messages = letters.map((l) => ({
        key: l.key,
        value: l.value,
        headers: {
          ...l.headers,
          [DLQ_HEADERS.reason]: l.reason,
          [DLQ_HEADERS.error]: l.error.length > MAX_ERROR_CHARS ? `${l.error.slice(0, MAX_ERROR_CHARS - 1)}…` : l.error,
          [DLQ_HEADERS.sourceTopic]: l.topic,
          [DLQ_HEADERS.sourcePartition]: String(l.partition),
          [DLQ_HEADERS.sourceOffset]: l.offset,
          [DLQ_HEADERS.consumerGroup]: groupId,
          [DLQ_HEADERS.timestamp]: new Date().toISOString(),
        },
      }));
      await retry(
        async () => {
          try {
            await producer.send(topic, messages);
          } catch (err) {
            metrics.deadLetterErrors.inc();
            // Every failure is retried: a dead letter that is not written must not be skipped.
            throw new DeadLetterError(`could not write ${letters.length} dead letter(s) to ${topic}: ${(err as Error).message}`, err);
          }
        },
        {
          signal,
          onRetry: (err, attempt, delayMs) => {
            if (attempt === 1 || attempt % 10 === 0) log.warn({ attempt, retryInMs: delayMs, err: (err as Error).message }, 'dead-letter write failed; retrying');
          },
        },
      );
      for (const l of letters) {
        metrics.entriesDeadLettered.inc({ reason: l.reason });
        log.warn({ reason: l.reason, sourceTopic: l.topic, partition: l.partition, offset: l.offset, err: l.error }, 'dead-lettered a message');
      }
    },
  };
}
