// Random mutations of valid messages (bit flips, bytes set, inserted, deleted
// or duplicated, varints overwritten with hostile counts, truncation): the
// decoder returns an entry or throws one of its typed errors, never anything
// else, and no case costs more than a bound in heap or time (issue 13).
//
// Replay a failure with the seed it prints, all cases or only the one that failed:
//   WITNESS_FUZZ_SEED=<seed> [WITNESS_FUZZ_CASES=<n>] [WITNESS_FUZZ_CASE=<i>] npm test -- decode-fuzz
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHeapStatistics } from 'node:v8';
import {
  BodyFieldError,
  createCodec,
  DecodeError,
  HEADER_BYTES,
  InvalidEntryError,
  type WitnessCodec,
  type WitnessEntry,
} from '../../src/index.js';
import { fullEntry, minimalEntry } from '../../../test/support/entries.js';
import { varint } from '../../../test/support/hostile.js';

const SEED = envInt('WITNESS_FUZZ_SEED', 0x13d0f022);
const CASES = envInt('WITNESS_FUZZ_CASES', 10_000);
/** Only this case, when set: each case draws from its own generator, seeded from SEED and its number. */
const ONLY = process.env.WITNESS_FUZZ_CASE ? envInt('WITNESS_FUZZ_CASE', 0) : undefined;
/**
 * Per case, whatever the message. Decoding a valid entry allocates a few KiB
 * and takes tens of µs; a count of 2^26 trusted took avsc seconds and 512 MiB.
 * The bounds are far from both so a GC does not flake them; time is this
 * process's CPU time, which neighbours on a loaded machine do not stretch.
 */
const MAX_HEAP_GROWTH_BYTES = 16 * 1024 * 1024;
const MAX_CASE_CPU_MS = 250;

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name}=${text}: expected a non-negative integer`);
  return value;
}

/** mulberry32: small, fast, and the same sequence on every platform for a seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// Counts and lengths an attacker would write: the issue's, the edges of int
// and of the caps, negatives (block counts with a size), and beyond 2^53.
const HOSTILE_VARINTS = [0, 1, -1, 4, 33, 257, 2_049, 65_537, 2 ** 20, 2 ** 26, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, 2 ** 53, -(2 ** 53)];

type Mutation = (m: Buffer, r: Random) => Buffer;

class Random {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** A position in the body most of the time (the header's cases are few and covered by codec.test.ts). */
  position(m: Buffer): number {
    return this.next() < 0.95 && m.length > HEADER_BYTES ? HEADER_BYTES + this.int(m.length - HEADER_BYTES) : this.int(m.length);
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }
}

const MUTATIONS: ReadonlyArray<[string, Mutation]> = [
  ['flip a bit', (m, r) => {
    const out = Buffer.from(m);
    const at = r.position(m);
    out[at]! ^= 1 << r.int(8);
    return out;
  }],
  ['set a byte', (m, r) => {
    const out = Buffer.from(m);
    out[r.position(m)] = r.pick([0x00, 0x7f, 0x80, 0xc0, 0xed, 0xff, r.int(256)]);
    return out;
  }],
  ['insert bytes', (m, r) => {
    const at = r.position(m);
    return Buffer.concat([m.subarray(0, at), r.bytes(1 + r.int(8)), m.subarray(at)]);
  }],
  ['delete bytes', (m, r) => {
    const at = r.position(m);
    return Buffer.concat([m.subarray(0, at), m.subarray(at + 1 + r.int(8))]);
  }],
  ['overwrite a varint', (m, r) => {
    // At a random byte, replacing the varint that starts there (or the bytes it covers).
    const at = r.position(m);
    let end = at;
    while (end < m.length - 1 && m[end]! & 0x80) end++;
    const n = r.next() < 0.8 ? r.pick(HOSTILE_VARINTS) : Math.floor((r.next() - 0.5) * 2 ** 34);
    return Buffer.concat([m.subarray(0, at), varint(n), m.subarray(end + 1)]);
  }],
  ['duplicate a range', (m, r) => {
    const from = r.position(m);
    const to = Math.min(m.length, from + 1 + r.int(64));
    const at = r.position(m);
    return Buffer.concat([m.subarray(0, at), m.subarray(from, to), m.subarray(at)]);
  }],
  ['truncate', (m, r) => m.subarray(0, r.int(m.length))],
];

function bases(): Array<{ codec: WitnessCodec; message: Buffer }> {
  const small = createCodec({ dim: 8 });
  const wide = createCodec();
  const entries = (dim: number): WitnessEntry[] => [
    fullEntry(dim),
    minimalEntry(dim),
    {
      ...fullEntry(dim),
      context_doc_ids: Array.from({ length: 12 }, (_, i) => `0b5e5bd6-9a4c-4f57-8d5a-3c6f0e7b1a${String(i).padStart(2, '0')}`),
      tags: ['ünïcödé', '😀', 'x'.repeat(128), 'ok'],
      error: { code: 'E', message: '✓'.repeat(300), stack_trace: null, recovery_attempted: false },
    },
  ];
  // Small vectors keep most of each message structure (counts, lengths, strings), where the attacks are.
  return [
    ...entries(8).map((e) => ({ codec: small, message: Buffer.from(small.encode(e)) })),
    ...entries(768).map((e) => ({ codec: wide, message: Buffer.from(wide.encode(e)) })),
  ];
}

/** The errors decode may throw: every one typed, with a stable code. */
function isTyped(err: unknown): boolean {
  return err instanceof DecodeError || err instanceof InvalidEntryError || err instanceof BodyFieldError;
}

test(`decoding ${CASES} random mutations of valid messages returns an entry or a typed error, within bounds (seed ${SEED})`, (t) => {
  t.diagnostic(`WITNESS_FUZZ_SEED=${SEED} WITNESS_FUZZ_CASES=${CASES}`);
  const all = bases();
  const outcomes = new Map<string, number>();
  let slowest = 0;
  let mostHeap = 0;
  for (let n = ONLY ?? 0; n < (ONLY === undefined ? CASES : ONLY + 1); n++) {
    const random = new Random(prng(SEED ^ Math.imul(n + 1, 0x9e3779b1)));
    const base = random.pick(all);
    let message = base.message;
    const applied: string[] = [];
    for (let k = 1 + random.int(3); k > 0; k--) {
      const [name, mutate] = random.pick(MUTATIONS);
      message = mutate(message, random);
      applied.push(name);
    }
    const validate = random.next() < 0.75;
    const replay = `case ${n} (${applied.join(', ')}; validate ${validate}); replay with WITNESS_FUZZ_SEED=${SEED} WITNESS_FUZZ_CASE=${n}`;

    const heapBefore = getHeapStatistics().used_heap_size;
    const cpuBefore = process.cpuUsage();
    let outcome: string;
    let decoded: WitnessEntry | undefined;
    try {
      decoded = base.codec.decode(message, { validate });
      outcome = 'entry';
    } catch (err) {
      if (!isTyped(err)) assert.fail(`${replay}: threw an untyped ${String(err)}\n${(err as Error).stack ?? ''}`);
      outcome = (err as { code: string }).code;
    }
    const cpu = process.cpuUsage(cpuBefore);
    const ms = (cpu.user + cpu.system) / 1000;
    const heap = getHeapStatistics().used_heap_size - heapBefore;
    slowest = Math.max(slowest, ms);
    mostHeap = Math.max(mostHeap, heap);
    assert.ok(ms < MAX_CASE_CPU_MS, `${replay}: took ${ms.toFixed(1)} ms of CPU`);
    assert.ok(heap < MAX_HEAP_GROWTH_BYTES, `${replay}: heap grew ${heap} bytes for a ${message.length}-byte message`);
    // What decode accepts with validation is an entry encode accepts too.
    if (decoded !== undefined && validate) assert.doesNotThrow(() => base.codec.encode(decoded), replay);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  t.diagnostic(`outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  t.diagnostic(`slowest case ${slowest.toFixed(2)} ms of CPU, largest heap growth ${(mostHeap / 1024).toFixed(0)} KiB`);
  // The mutations reach the bounded pass's every refusal, not only the header checks.
  for (const code of ['WITNESS_DECODE_BOUNDS', 'WITNESS_INVALID_UTF8', 'WITNESS_TRUNCATED', 'WITNESS_MALFORMED_BODY', 'WITNESS_INVALID_ENTRY']) {
    if (ONLY === undefined && CASES >= 5_000) assert.ok((outcomes.get(code) ?? 0) > 0, `no case ended in ${code}: ${[...outcomes].join('; ')}`);
  }
});
