// The SDK's CRC-32C (src/crc32c.ts) on its own: the standard check values and
// agreement with the byte-at-a-time algorithm on every length and alignment. That
// kafkajs uses it with fastCrc32c, against the broker: crc32c.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32c } from '../../src/crc32c.js';

test('CRC-32C check values', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43); // RFC 3720 B.4: 32 bytes of 0xff
});

test('agrees with the byte-at-a-time algorithm on every length and alignment', () => {
  const data = randomBytes(4096);
  const bytewise = (buf: Uint8Array) => {
    let crc = -1;
    for (const byte of buf) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return (crc ^ -1) >>> 0;
  };
  for (let start = 0; start < 9; start++) {
    for (const length of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4000]) {
      const slice = data.subarray(start, start + length);
      assert.equal(crc32c(slice), bytewise(slice), `offset ${start}, length ${length}`);
    }
  }
});
