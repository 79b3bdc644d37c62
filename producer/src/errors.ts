// The producer's errors, one class per failure a caller can act on. They extend the
// schemas package's WitnessError: `code` is stable (safe as a metric label and in
// alerts), `retriable` says whether trying the same call again later can succeed.
// Option errors reuse the schemas' InvalidOptionError (WITNESS_INVALID_OPTION).
import { WitnessError } from '@witnesslog/core';

export { InvalidOptionError } from '@witnesslog/core';

export const producerErrorCodes = Object.freeze({
  closed: 'WITNESS_PRODUCER_CLOSED',
  criticalTimeout: 'WITNESS_CRITICAL_TIMEOUT',
  flushTimeout: 'WITNESS_FLUSH_TIMEOUT',
  queueFull: 'WITNESS_QUEUE_FULL',
  sendFailed: 'WITNESS_SEND_FAILED',
  redactFailed: 'WITNESS_REDACT_FAILED',
} as const);

export type ProducerErrorCode = (typeof producerErrorCodes)[keyof typeof producerErrorCodes];

/** Base of the errors below: a WitnessError whose code is one of producerErrorCodes. */
export class WitnessProducerError extends WitnessError<ProducerErrorCode> {
  constructor(code: ProducerErrorCode, message: string, options: { retriable: boolean; cause?: unknown }) {
    super(code, message, options);
  }
}

/** The producer was closed before the call, or closed before the entry was acknowledged. */
export class ProducerClosedError extends WitnessProducerError {
  constructor(message = 'the witness producer is closed') {
    super(producerErrorCodes.closed, message, { retriable: false });
  }
}

/**
 * recordCritical() was not acknowledged in time. The entry stays queued (it is still
 * counted as pending) and may be delivered later: retrying can duplicate it, which
 * downstream deduplicates by request_id.
 */
export class CriticalTimeoutError extends WitnessProducerError {
  constructor(
    readonly timeoutMs: number,
    readonly requestId: string,
  ) {
    super(
      producerErrorCodes.criticalTimeout,
      `critical witness entry ${requestId} was not acknowledged by the broker within ${timeoutMs} ms; ` +
        'it stays queued and may still be delivered',
      { retriable: true },
    );
  }
}

/** flush() did not see everything before it settle in time; the timeout dropped nothing. */
export class FlushTimeoutError extends WitnessProducerError {
  constructor(
    readonly timeoutMs: number,
    readonly pending: number,
  ) {
    super(producerErrorCodes.flushTimeout, `flush did not complete within ${timeoutMs} ms: ${pending} entries still pending`, {
      retriable: true,
    });
  }
}

/** recordCritical() found no room even past the entry cap: the byte cap is reached. */
export class QueueFullError extends WitnessProducerError {
  constructor(
    readonly pendingBytes: number,
    readonly maxQueueBytes: number,
  ) {
    super(producerErrorCodes.queueFull, `witness producer queue is full (${pendingBytes} of ${maxQueueBytes} bytes)`, {
      retriable: true,
    });
  }
}

/** The broker refused the entry for a reason retrying cannot fix (too large, not authorised). */
export class SendFailedError extends WitnessProducerError {
  constructor(
    /** The Kafka error type (MESSAGE_TOO_LARGE, TOPIC_AUTHORIZATION_FAILED, …) or the error's name. */
    readonly reason: string,
    readonly topic: string,
    cause: unknown,
  ) {
    super(producerErrorCodes.sendFailed, `the broker refused witness entries for topic ${topic}: ${reason}`, {
      retriable: false,
      cause,
    });
  }
}

/** The redact hook threw: the entry was dropped (reason redact_failed) rather than sent unredacted. */
export class RedactFailedError extends WitnessProducerError {
  constructor(cause: unknown) {
    super(producerErrorCodes.redactFailed, 'the redact hook threw; the witness entry was dropped, not sent unredacted', {
      retriable: false,
      cause,
    });
  }
}
