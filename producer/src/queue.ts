// The producer's own buffer: encoded entries waiting for the send loop, bounded by
// the caller (see producer.ts). It holds Buffers, not entry objects, so the memory
// it pins is exactly what it counts and the caller's objects can be collected at once.

/** Called when the broker acknowledged (error undefined) or the entry was given up. */
export type Settle = (error?: Error) => void;

/**
 * One encoded entry. Passed to the Kafka client as-is (it reads `key` and `value` only), which
 * saves an allocation per entry on the caller's path.
 */
export class QueuedMessage {
  constructor(
    readonly key: string,
    readonly value: Buffer,
    /** Set for recordCritical entries only. */
    readonly settle: Settle | undefined,
    /** The entry's producer.seq, reported as send_failed if it is never delivered; -1 for a checkpoint. */
    readonly seq = -1,
  ) {}

  /** What the entry costs the queue: its key (an ASCII uuid) and its value. */
  get size(): number {
    return this.key.length + this.value.length;
  }
}

/** FIFO with O(1) push and batch take; a consumed prefix is dropped in amortised O(1). */
export class MessageQueue {
  private items: QueuedMessage[] = [];
  private head = 0;
  private byteCount = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.byteCount;
  }

  push(message: QueuedMessage): void {
    this.items.push(message);
    this.byteCount += message.size;
  }

  /**
   * Up to maxEntries from the head, stopping before maxBytes would be exceeded; always
   * at least one entry when not empty (record() refuses entries larger than maxBytes).
   */
  take(maxEntries: number, maxBytes: number): QueuedMessage[] {
    const end = Math.min(this.items.length, this.head + maxEntries);
    let i = this.head;
    let bytes = 0;
    for (; i < end; i++) {
      const size = this.items[i]!.size;
      if (i > this.head && bytes + size > maxBytes) break;
      bytes += size;
    }
    const batch = this.items.slice(this.head, i);
    this.head = i;
    this.byteCount -= bytes;
    this.compact();
    return batch;
  }

  /** Everything left, in order; the queue is empty afterwards. */
  drain(): QueuedMessage[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.byteCount = 0;
    return rest;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      // Copy the live tail once the dead prefix is at least as long: each entry is
      // copied O(1) times on average, and the array never grows without bound.
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
