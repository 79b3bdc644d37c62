// How much a field of a witness entry may claim before the bounded pass
// (bounded-decode.ts) refuses the message: the validation limits with slack, so a
// forensic read still works and an impossible claim costs nothing.
import { limits } from './validate.js';

// Caps sit SLACK times above the validation limits: a decode without validation
// (a forensic read of a dead letter) still reads an entry that breaks a limit,
// while a claim that no writer could make is refused before anything is
// allocated for it. String caps are bytes: up to 3 UTF-8 bytes per UTF-16 unit,
// the unit String#length (and so `limits`) counts.
const SLACK = 8;
const chars = (n: number): number => n * 3 * SLACK;
const UUID_CHARS = 36;
const TRACE_ID_CHARS = 32;
const SPAN_ID_CHARS = 16;

/** The most a field may claim: items for arrays and maps, bytes for strings and bytes. */
export const decodeCaps = Object.freeze({
  /**
   * Fields without a cap of their own (a newer writer's): Kafka's default
   * message.max.bytes (1 MiB) bounds them anyway, so these only stop what no
   * message could hold.
   */
  defaultItems: 65_536,
  defaultBytes: 1_048_576,
  /** By field path; `[]` stands for every item. */
  fields: Object.freeze<Record<string, number>>({
    request_id: chars(UUID_CHARS),
    session_id: chars(limits.sessionIdMaxChars),
    // No codec validates a dimension above embeddingMaxDim, so no slack here.
    query_embedding: limits.embeddingMaxDim * 4,
    response_embedding: limits.embeddingMaxDim * 4,
    'routing_decision.model_probs': 4 * SLACK,
    context_doc_ids: limits.contextDocIdsMaxCount * SLACK,
    'context_doc_ids[]': chars(UUID_CHARS),
    'error.code': chars(limits.errorCodeMaxChars),
    'error.message': chars(limits.errorMessageMaxChars),
    'error.stack_trace': chars(limits.stackTraceMaxChars),
    tags: limits.tagsMaxCount * SLACK,
    'tags[]': chars(limits.tagMaxChars),
    'producer.id': chars(UUID_CHARS),
    'producer.service': chars(limits.producerServiceMaxChars),
    'producer.host': chars(limits.producerHostMaxChars),
    'trace.trace_id': chars(TRACE_ID_CHARS),
    'trace.span_id': chars(SPAN_ID_CHARS),
  }),
});
