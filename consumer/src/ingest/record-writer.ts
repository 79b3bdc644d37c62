// Writes the points of `<collection>_checkpoints` for the flush stages
// (checkpoint-stage.ts, dead-letter-record-stage.ts): upsert with wait=true,
// retried while Qdrant is unavailable (the stage runs before the commit, so a
// batch whose records are not stored is not committed), and the collection put
// back first if it was deleted under us.
import type { Schemas } from '@qdrant/js-client-rest';
import type { Logger } from 'pino';
import type { Retry } from '@witnesslog/core';
import type { ConsumerConfig } from '../config.js';
import { classifyQdrantError } from '../errors.js';
import { checkpointCollection, ensureCheckpointCollection, type RecordPoint } from '../store/checkpoints.js';
import type { QdrantWriter } from '../store/qdrant.js';

/** What a stage is given (StageDeps in stages.ts); records go to `config.qdrant.collection`'s `_checkpoints` companion. */
export interface RecordWriterOptions {
  config: Pick<ConsumerConfig, 'qdrant'>;
  client: QdrantWriter;
  retry: Retry;
  logger: Logger;
}

export type RecordWriter = (points: ReadonlyArray<RecordPoint<object>>, signal: AbortSignal) => Promise<void>;

export function createRecordWriter({ config, client, retry, logger }: RecordWriterOptions): RecordWriter {
  const { collection } = config.qdrant;
  const name = checkpointCollection(collection);
  let recreate = false;

  async function upsertOnce(points: ReadonlyArray<RecordPoint<object>>): Promise<void> {
    try {
      if (recreate) {
        await ensureCheckpointCollection(client, { collection, logger });
        recreate = false;
      }
      await client.upsert(name, { wait: true, points: points as unknown as Schemas['PointStruct'][] });
    } catch (err) {
      const error = classifyQdrantError(err);
      if (error.kind === 'collection_missing') recreate = true;
      throw error;
    }
  }

  return async (points, signal) => {
    if (points.length === 0) return;
    await retry(() => upsertOnce(points), {
      signal,
      onRetry: (err, attempt, delayMs) => {
        if (attempt === 1 || attempt % 10 === 0) {
          logger.warn({ collection: name, attempt, retryInMs: delayMs, err: (err as Error).message }, 'writing checkpoint records failed; retrying (offsets are not committed meanwhile)');
        }
      },
    });
  };
}
