// A FIFO buffer that hands out batches: `maxEntries` at once, or whatever is
// there once the oldest item has waited `maxWaitMs`, whichever comes first. One
// reader (the flush loop) takes batches with next(); any number of writers push.
// The buffer itself is unbounded: the consumer bounds it by pausing the fetch
// (it knows about Kafka, this does not).

export interface BatcherOptions {
  maxEntries: number;
  maxWaitMs: number;
  now?: () => number;
}

export class Batcher<T> {
  readonly #maxEntries: number;
  readonly #maxWaitMs: number;
  readonly #now: () => number;
  #items: T[] = [];
  #arrivals: number[] = [];
  #head = 0;
  #urgent = false;
  #closed = false;
  #wake: (() => void) | undefined;
  #waitingForFirst = false;
  #timer: NodeJS.Timeout | undefined;

  constructor({ maxEntries, maxWaitMs, now = Date.now }: BatcherOptions) {
    this.#maxEntries = maxEntries;
    this.#maxWaitMs = maxWaitMs;
    this.#now = now;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(items: readonly T[]): void {
    if (items.length === 0) return;
    const at = this.#now();
    for (const item of items) {
      this.#items.push(item);
      this.#arrivals.push(at);
    }
    this.#notify();
  }

  /**
   * While urgent, batches are handed out without waiting for maxWaitMs: used to
   * drain before shutdown or before partitions are handed over.
   */
  setUrgent(urgent: boolean): void {
    this.#urgent = urgent;
    if (urgent) this.#notify();
  }

  /** Removes and returns everything buffered (not what next() already handed out). */
  clear(): T[] {
    const out = this.#items.slice(this.#head);
    this.#items = [];
    this.#arrivals = [];
    this.#head = 0;
    return out;
  }

  /** next() then answers null once the buffer is empty. */
  close(): void {
    this.#closed = true;
    this.#notify();
  }

  /** The next batch, or null when closed (and, unless urgent, once nothing is left). */
  async next(): Promise<T[] | null> {
    for (;;) {
      const size = this.size;
      if (size >= this.#maxEntries || (size > 0 && (this.#urgent || this.#closed))) return this.#take();
      if (this.#closed) return null;
      let waitMs: number | undefined;
      if (size > 0) {
        waitMs = this.#arrivals[this.#head]! + this.#maxWaitMs - this.#now();
        if (waitMs <= 0) return this.#take();
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#waitingForFirst = size === 0;
        if (waitMs !== undefined) this.#timer = setTimeout(resolve, waitMs);
      });
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#wake = undefined;
    }
  }

  #notify(): void {
    // Wake the reader only when something it waits for happened: the first item
    // (which starts the max-wait clock), a full batch, or a change of mode.
    if (this.#wake && (this.#waitingForFirst || this.size >= this.#maxEntries || this.#urgent || this.#closed)) this.#wake();
  }

  #take(): T[] {
    const end = Math.min(this.#head + this.#maxEntries, this.#items.length);
    const batch = this.#items.slice(this.#head, end);
    this.#head = end;
    // Compact once the consumed prefix dominates, so shifting stays amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#arrivals = this.#arrivals.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }
}
