// Allocating an ArrayBuffer costs about 2 µs whatever its size (measured on the
// bench machine), as much as encoding a whole entry. Encoded messages and
// decoded vectors are therefore cut from 64 KiB slabs, as Node's Buffer pool
// does for small buffers. The price is the same as Node's: a piece keeps its
// slab alive, so one long-lived message pins at most 64 KiB.

export const SLAB_BYTES = 64 * 1024;
/** Pieces start on 16-byte boundaries: Float32Array needs 4, SIMD copies like 16. */
const ALIGN = 16;

export class Slab {
  /** The current slab; write into it from `offset`, then `take` what was written. */
  buffer: Buffer;
  offset = 0;

  constructor() {
    this.buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  }

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  /** Starts a new slab (the old one lives on as long as pieces of it do). */
  renew(): void {
    this.buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
    this.offset = 0;
  }

  /** Hands out buffer[offset, end) and moves past it. */
  take(end: number): Buffer {
    const piece = this.buffer.subarray(this.offset, end);
    this.offset = Math.min(this.buffer.length, (end + ALIGN - 1) & ~(ALIGN - 1));
    return piece;
  }

  /** A Float32Array of `length` values (contents undefined), from the slab when it fits. */
  float32(length: number): Float32Array {
    const bytes = length * 4;
    if (bytes > SLAB_BYTES / 4) return new Float32Array(length);
    if (bytes > this.remaining) this.renew();
    const vector = new Float32Array(this.buffer.buffer, this.buffer.byteOffset + this.offset, length);
    this.take(this.offset + bytes);
    return vector;
  }
}
