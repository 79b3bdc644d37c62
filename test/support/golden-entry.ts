// The golden entries, read from the one file that defines them
// (schemas/test/fixtures/golden-entry.json, which the Python tests read too), as
// WitnessEntry values: embeddings as Float32Array, as the codec decodes them.
import { readFileSync } from 'node:fs';
import type { WitnessEntry } from '@witnesslog/schemas';

interface GoldenFile {
  dim: number;
  entry: { value: Record<string, unknown> };
  fastavroEntry: { value: Record<string, unknown> };
  v2: { value: Record<string, unknown> };
}

export const goldenEntryFile = new URL('../../schemas/test/fixtures/golden-entry.json', import.meta.url);

function golden(): GoldenFile {
  return JSON.parse(readFileSync(goldenEntryFile, 'utf8')) as GoldenFile;
}

function asEntry(value: Record<string, unknown>): WitnessEntry {
  return {
    ...value,
    query_embedding: Float32Array.from(value.query_embedding as number[]),
    response_embedding: Float32Array.from(value.response_embedding as number[]),
  } as unknown as WitnessEntry;
}

/** The embedding dimension of the golden entries. */
export const GOLDEN_DIM = golden().dim;

/**
 * The entry of witness-entry.v1.python.hex and witness-entry.v1.typescript.hex (a
 * fresh copy each call): a v1 entry, without producer, trace and usage.
 */
export function goldenEntry(): WitnessEntry {
  return asEntry(golden().entry.value);
}

/** The golden entry as the file has it (embeddings as plain arrays), a fresh copy each call. */
export function goldenEntryValue(): Record<string, unknown> {
  return golden().entry.value;
}

/** The entry of witness-entry.v1.fastavro.hex, written by fastavro (a fresh copy each call). */
export function fastavroGoldenEntry(): WitnessEntry {
  return asEntry(golden().fastavroEntry.value);
}

/** The entry of witness-entry.v2.python.hex and witness-entry.v2.typescript.hex: the v1 one plus producer, trace and usage. */
export function goldenV2Entry(): WitnessEntry {
  return asEntry(golden().v2.value);
}
