// For each message of a batch that was dead-lettered, a `dead_letter` record in
// `<collection>_checkpoints` (issue 26 item 3), so the audit counts it: the
// entry's producer id, seq, service and request id when it decoded (a conflict,
// a point Qdrant refused), nulls when it did not (an undecodable message counts by
// partition and offset). Runs after the dead letters were sent and before the
// commit: a letter without its record is delivered again, never lost.
import type { FlushStage } from './flush.js';
import { createRecordWriter, type RecordWriterOptions } from './record-writer.js';
import { deadLetterToPoint } from '../store/checkpoints.js';

export function createDeadLetterRecordStage(deps: RecordWriterOptions, now: () => number = Date.now): FlushStage {
  const write = createRecordWriter(deps);
  return {
    name: 'dead-letter-records',
    async afterWrite({ deadLettered }, signal) {
      const at = now();
      await write(deadLettered.map(({ item, reason, error }) => deadLetterToPoint({ topic: item.topic, partition: item.partition, offset: item.offset, reason, error }, item.entry, at)), signal);
    },
  };
}
