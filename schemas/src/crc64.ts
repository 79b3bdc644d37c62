// CRC-64-AVRO, the Rabin fingerprint the Avro specification ("Schema
// Fingerprints") prescribes for single-object encoding. avsc only offers MD5
// and SHA-256, so it lives here. BigInt is fine: it runs once per schema
// version at start-up, never per message.

/** The specification's EMPTY: the fingerprint of zero bytes and the polynomial. */
export const CRC64_AVRO_EMPTY = 0xc15d213aa4d7a795n;

const TABLE = buildTable();

function buildTable(): BigUint64Array {
  const table = new BigUint64Array(256);
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (CRC64_AVRO_EMPTY & -(fp & 1n));
    table[i] = fp;
  }
  return table;
}

/** CRC-64-AVRO of the bytes (a string is taken as UTF-8), as an unsigned 64-bit bigint. */
export function crc64Avro(input: Uint8Array | string): bigint {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  let fp = CRC64_AVRO_EMPTY;
  for (const byte of bytes) fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(byte)) & 0xffn)]!;
  return fp;
}

/** 16 lowercase hex digits, most significant first (how errors and logs show a fingerprint). */
export function fingerprintHex(fingerprint: bigint): string {
  return BigInt.asUintN(64, fingerprint).toString(16).padStart(16, '0');
}
