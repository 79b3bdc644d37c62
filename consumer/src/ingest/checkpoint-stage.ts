// Stores each producer checkpoint of a batch (issue 26) in `<collection>_checkpoints`,
// under an id from (producer_id, checkpoint_seq): a redelivered checkpoint rewrites
// its own point. Checkpoints are neither entries nor failures, so the flush leaves
// them to this stage (see FlushStage in flush.ts); one that claimed the impossible
// never gets here: receive() made it a WITNESS_CHECKPOINT_INVALID dead letter.
import type { FlushStage } from './flush.js';
import { createRecordWriter, type RecordWriterOptions } from './record-writer.js';
import { checkpointToPoint } from '../store/checkpoints.js';

export function createCheckpointStage(deps: RecordWriterOptions): FlushStage {
  const write = createRecordWriter(deps);
  return {
    name: 'checkpoints',
    async afterWrite({ items }, signal) {
      const points = [];
      for (const item of items) if (item.checkpoint !== undefined) points.push(checkpointToPoint(item.checkpoint, item));
      await write(points, signal);
    },
  };
}
