// The flush stages a consumer runs (see FlushStage in flush.ts): the work that
// belongs to a batch besides its points, after they are acknowledged and before
// the commit. Each stage lives in a file of its own; this is where they are chosen.
import type { Logger } from 'pino';
import type { Retry } from '@witnesslog/core';
import type { ConsumerConfig } from '../config.js';
import type { QdrantWriter } from '../store/qdrant.js';
import { createCheckpointStage } from './checkpoint-stage.js';
import { createDeadLetterRecordStage } from './dead-letter-record-stage.js';
import type { FlushStage } from './flush.js';
import type { ConsumerMetrics } from './metrics.js';

export interface StageDeps {
  config: ConsumerConfig;
  client: QdrantWriter;
  retry: Retry;
  metrics: ConsumerMetrics;
  logger: Logger;
}

// Plain wiring: one line per stage.
export function createStages(deps: StageDeps): FlushStage[] {
  return [
    createCheckpointStage(deps),
    createDeadLetterRecordStage(deps),
  ];
}
