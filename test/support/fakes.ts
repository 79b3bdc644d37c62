// Small fakes of the consumer's seams (kafka.ts, qdrant.ts) for unit tests of
// delivery semantics: a group consumer the test feeds batches to, a producer
// that records dead letters, and a Qdrant that stores points and can be told
// to fail or to hold a write. They implement our interfaces, not kafkajs's.
import type {
  BatchControl,
  FetchedBatch,
  FetchedMessage,
  GroupConsumer,
  GroupConsumerEvents,
  KafkaAdmin,
  KafkaClients,
  OutgoingRecord,
  RecordProducer,
  TopicPartitionOffset,
} from '../../consumer/src/ingest/kafka.js';
import { recordBytes } from '../../consumer/src/ingest/dead-letter.js';
import type { QdrantProbe, QdrantWriter } from '../../consumer/src/store/qdrant.js';

export class FakeGroupConsumer implements GroupConsumer {
  readonly commits: TopicPartitionOffset[][] = [];
  readonly pauses: string[] = [];
  readonly resumes: string[] = [];
  readonly resolved: string[] = [];
  #handler: ((batch: FetchedBatch, control: BatchControl) => Promise<void>) | undefined;
  #listeners: Partial<{ [E in keyof GroupConsumerEvents]: GroupConsumerEvents[E] }> = {};
  #running = false;

  constructor(private readonly assignment: Record<string, number[]>) {}

  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {
    this.#running = false;
  }
  async subscribe(): Promise<void> {}
  async run(eachBatch: (batch: FetchedBatch, control: BatchControl) => Promise<void>): Promise<void> {
    this.#handler = eachBatch;
    this.#running = true;
    this.#listeners.groupJoin?.(this.assignment);
  }
  pause(topic: string): void {
    this.pauses.push(topic);
  }
  resume(topic: string): void {
    this.resumes.push(topic);
  }
  async commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    this.commits.push(offsets);
  }
  on<E extends keyof GroupConsumerEvents>(event: E, listener: GroupConsumerEvents[E]): void {
    this.#listeners[event] = listener;
  }

  /** Hands the consumer one fetched batch, as the fetch loop would; resolves when its handler returns. */
  deliver(topic: string, partition: number, values: Array<Buffer | null>, firstOffset = 0): Promise<void> {
    if (!this.#handler) throw new Error('deliver before run');
    const messages: FetchedMessage[] = values.map((value, i) => ({ offset: String(firstOffset + i), key: null, value, headers: {} }));
    const last = firstOffset + values.length - 1;
    return this.#handler(
      { topic, partition, highWatermark: String(last + 1), firstOffset: String(firstOffset), lastOffset: String(last), messages },
      {
        resolveOffset: (offset) => void this.resolved.push(offset),
        heartbeat: async () => {},
        isRunning: () => this.#running,
        isStale: () => false,
      },
    );
  }

  /** The highest offset committed on a partition, or undefined. */
  committed(topic: string, partition: number): string | undefined {
    const all = this.commits.flat().filter((c) => c.topic === topic && c.partition === partition);
    return all.at(-1)?.offset;
  }
}

/**
 * A producer that records dead letters. `maxRequestBytes` makes it refuse a
 * larger request as a broker does (MESSAGE_TOO_LARGE); `failWith` makes each
 * send throw what it returns (undefined: succeed).
 */
export class FakeProducer implements RecordProducer {
  readonly sent: Array<{ topic: string; records: OutgoingRecord[] }> = [];
  attempts = 0;
  maxRequestBytes = Infinity;
  failWith: (attempt: number) => unknown = () => undefined;
  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async send(topic: string, records: OutgoingRecord[]): Promise<void> {
    this.attempts += 1;
    const failure = this.failWith(this.attempts);
    if (failure !== undefined) throw failure;
    if (records.reduce((n, r) => n + recordBytes(r), 0) > this.maxRequestBytes) {
      throw Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { type: 'MESSAGE_TOO_LARGE', retriable: false });
    }
    this.sent.push({ topic, records });
  }
}

export function fakeKafka(consumer: FakeGroupConsumer, producer: RecordProducer): KafkaClients {
  const admin: KafkaAdmin = {
    connect: async () => {},
    disconnect: async () => {},
    listTopics: async () => [],
    topicOffsets: async () => [],
    committedOffsets: async () => [],
  };
  return { groupConsumer: () => consumer, producer: () => producer, admin: () => admin };
}

type Upsert = Parameters<QdrantWriter['upsert']>[1];
type CollectionInfo = Awaited<ReturnType<QdrantWriter['getCollection']>>;

/**
 * A Qdrant that keeps points in a map. `failWith` makes each upsert throw what
 * it returns (undefined: succeed); `gate` holds each upsert until it resolves.
 */
export class FakeQdrant {
  readonly points = new Map<string, unknown>();
  /** Points of the `<collection>_checkpoints` companion (checkpoints and dead-letter records), kept apart. */
  readonly records = new Map<string, unknown>();
  upserts = 0;
  retrieves = 0;
  failWith: (attempt: number) => unknown = () => undefined;
  failRetrieveWith: (attempt: number) => unknown = () => undefined;
  gate: Promise<void> | undefined;
  #collection: CollectionInfo | undefined;

  readonly writer: QdrantWriter = {
    upsert: async (name: string, request: Upsert) => {
      if (name.endsWith('_checkpoints')) {
        for (const p of (request as { points: Array<{ id: string }> }).points) this.records.set(String(p.id), p);
        return { operation_id: 0, status: 'completed' as const };
      }
      this.upserts += 1;
      if (this.gate) await this.gate;
      const failure = this.failWith(this.upserts);
      if (failure !== undefined) throw failure;
      const insertOnly = (request as { update_mode?: string }).update_mode === 'insert_only';
      for (const p of (request as { points: Array<{ id: string }> }).points) {
        if (!(insertOnly && this.points.has(String(p.id)))) this.points.set(String(p.id), p);
      }
      return { operation_id: this.upserts, status: 'completed' as const };
    },
    retrieve: async (_name: string, request: Parameters<QdrantWriter['retrieve']>[1]) => {
      this.retrieves += 1;
      const failure = this.failRetrieveWith(this.retrieves);
      if (failure !== undefined) throw failure;
      const found = request.ids.map((id) => this.points.get(String(id)) as { id: string; payload: Record<string, unknown> } | undefined);
      return found.filter((p) => p !== undefined).map((p) => ({ id: p.id, payload: { entry_digest: p.payload.entry_digest } }));
    },
    getCollection: async () => {
      if (!this.#collection) throw Object.assign(new Error('Not found'), { status: 404 });
      return this.#collection;
    },
    createCollection: async (_name: string, request: Parameters<QdrantWriter['createCollection']>[1]) => {
      this.#collection = { config: { params: { vectors: request.vectors } }, payload_schema: {} } as unknown as CollectionInfo;
      return true;
    },
    createPayloadIndex: async () => ({ operation_id: 0, status: 'completed' as const }),
  };

  readonly probe: QdrantProbe = { collectionExists: async () => ({ exists: this.#collection !== undefined }) };
}

/** A gate a test opens when it wants: `promise` resolves on `open()`. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
