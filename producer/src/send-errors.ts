// What the send loop does with a failed produce request. The default is to keep the
// batch and retry it: while the broker is down or slow the entries are pending, not
// lost. Only errors that the same request can never get past drop the batch, and
// they are counted as send_failed with their Kafka error type.

export type SendAction =
  /** Connection lost, timeout, leader moving…: keep the batch at the head, back off, resend. */
  | 'retry'
  /** The broker forgot or fenced our producer id: start a new idempotent producer, resend. */
  | 'reset'
  /** Too large for the broker: resend as two halves; a single entry this large fails. */
  | 'split'
  /** Not authorised, invalid topic, a bug: retrying cannot help, drop and count. */
  | 'fail';

export interface SendFailure {
  action: SendAction;
  /** Bounded label: the Kafka error type (MESSAGE_TOO_LARGE) or the client error's name. */
  label: string;
}

const SPLIT = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const RESET = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_PRODUCER_EPOCH', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_ID_MAPPING']);
const FAIL = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'UNSUPPORTED_VERSION',
  'POLICY_VIOLATION',
]);

interface ErrorLike {
  name?: unknown;
  type?: unknown;
  cause?: unknown;
}

export function classifySendError(error: unknown): SendFailure {
  // kafkajs wraps the broker's answer (KafkaJSNumberOfRetriesExceeded,
  // KafkaJSNonRetriableError) with the original in `cause`: the innermost one decides.
  let innermost: ErrorLike | undefined;
  let protocolType: string | undefined;
  const names: string[] = [];
  let e: unknown = error;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth++) {
    const err = e as ErrorLike;
    innermost = err;
    if (typeof err.name === 'string') names.push(err.name);
    if (typeof err.type === 'string' && protocolType === undefined) protocolType = err.type;
    e = err.cause;
  }
  if (protocolType !== undefined) {
    if (SPLIT.has(protocolType)) return { action: 'split', label: protocolType };
    if (RESET.has(protocolType)) return { action: 'reset', label: protocolType };
    if (FAIL.has(protocolType)) return { action: 'fail', label: protocolType };
    return { action: 'retry', label: protocolType };
  }
  if (names.includes('KafkaJSSASLAuthenticationError')) return { action: 'fail', label: 'SASL_AUTHENTICATION_FAILED' };
  const name = typeof innermost?.name === 'string' ? innermost.name : 'Error';
  // kafkajs wraps every network and broker failure in its own classes; anything else
  // is a programming error that would fail the same way forever and block the queue.
  if (!names.some((n) => n.startsWith('KafkaJS'))) return { action: 'fail', label: name };
  return { action: 'retry', label: name };
}
