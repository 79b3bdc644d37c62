// A fake of the producer SDK's Kafka seam (producer/src/kafka.ts: KafkaClient and
// BatchProducer) for unit tests of its send loop, in milliseconds and without a
// socket. It implements our interface, not kafkajs's; the errors it throws are
// kafkajs's own classes, built as kafkajs builds them, so the loop classifies
// them as it would a real client's (classifySendError).
import kafkajs from 'kafkajs';
import type { BatchProducer, KafkaClient, OutgoingMessage } from '../../producer/src/kafka.js';
import type { ProducerCompression } from '../../producer/src/options.js';

/** One produce request as the fake saw it. */
export interface FakeRequest {
  /** Which producer sent it: 1 for the first the client made, 2 after a reset… */
  readonly producer: number;
  readonly topic: string;
  readonly keys: string[];
  /** The encoded entries, in order. */
  readonly values: Buffer[];
  readonly bytes: number;
}

/** A broker's error code as kafkajs turns it into an error (its error table carries type and retriable). */
export function protocolError(type: string, retriable: boolean): Error {
  return new kafkajs.KafkaJSProtocolError(Object.assign(new Error(`broker says ${type}`), { type, retriable }));
}

/** What kafkajs rejects with when the broker is unreachable, after its own retries: the cause inside. */
export function unreachable(): Error {
  const cause = new kafkajs.KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1');
  // kafkajs's typings lag its constructors (options, cause): build it as its runtime does.
  const Exceeded = kafkajs.KafkaJSNumberOfRetriesExceeded as unknown as new (e: Error, o: object) => Error;
  return new Exceeded(cause, { retryCount: 2, retryTime: 400 });
}

export class FakeKafka implements KafkaClient {
  /** Every producer the client made, oldest first. */
  readonly producers: FakeBatchProducer[] = [];
  /** Every produce request, answered or not, in order. */
  readonly requests: FakeRequest[] = [];
  /** The requests that were acknowledged, in order. */
  readonly acknowledged: FakeRequest[] = [];
  connectAttempts = 0;
  /** What connect attempt n (1-based, across producers) throws; undefined: it connects. */
  failConnect: (attempt: number) => unknown = () => undefined;
  /** What request n (1-based) throws; undefined: it is acknowledged. */
  failSend: (attempt: number, request: FakeRequest) => unknown = () => undefined;
  /** A request of more bytes is refused as a broker does (MESSAGE_TOO_LARGE), before failSend is asked. */
  maxRequestBytes = Infinity;
  #held: { promise: Promise<void>; release(): void } | undefined;

  producer(): BatchProducer {
    const producer = new FakeBatchProducer(this, this.producers.length + 1);
    this.producers.push(producer);
    return producer;
  }

  /** From now on requests wait, unanswered, until release(): a send in flight. */
  hold(): void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.#held = { promise, release };
  }

  release(): void {
    const held = this.#held;
    this.#held = undefined;
    held?.release();
  }

  /**
   * Resolves once ready() holds, checked every millisecond (what a test waits for is
   * often the loop's answer to the fake: a count, a new producer); rejects after timeoutMs.
   */
  async until(ready: () => boolean, timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (Date.now() > deadline) {
        throw new Error(`fake kafka: condition not met within ${timeoutMs} ms (${this.requests.length} requests, ${this.producers.length} producers)`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** @internal for FakeBatchProducer: the request waits here while hold() is in force. */
  held(): Promise<void> | undefined {
    return this.#held?.promise;
  }
}

export class FakeBatchProducer implements BatchProducer {
  connected = false;
  disconnects = 0;

  constructor(
    private readonly kafka: FakeKafka,
    readonly id: number,
  ) {}

  async connect(): Promise<void> {
    const attempt = (this.kafka.connectAttempts += 1);
    const error = this.kafka.failConnect(attempt);
    this.connected = error === undefined;
    if (error !== undefined) throw error;
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    this.disconnects += 1;
  }

  async send(topic: string, messages: readonly OutgoingMessage[], _compression: ProducerCompression, _timeoutMs: number): Promise<void> {
    // The loop must connect first, and never send through a producer it reset.
    if (!this.connected) throw new TypeError(`fake kafka: producer ${this.id} sent without being connected`);
    const request: FakeRequest = {
      producer: this.id,
      topic,
      keys: messages.map((m) => m.key),
      values: messages.map((m) => m.value),
      bytes: messages.reduce((n, m) => n + m.key.length + m.value.length, 0),
    };
    const attempt = this.kafka.requests.push(request);
    await this.kafka.held();
    const error = request.bytes > this.kafka.maxRequestBytes ? protocolError('MESSAGE_TOO_LARGE', false) : this.kafka.failSend(attempt, request);
    if (error !== undefined) throw error;
    this.kafka.acknowledged.push(request);
  }
}
