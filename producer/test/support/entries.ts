// Witness entries for the tests: valid by construction, with a random unit vector
// so an entry that was mixed up with another one would not decode equal.
import { createWitnessEntry, withError, type WitnessEntry } from '@witnesslog/schemas';

export const DIM = 768;

export function unitVector(dim = DIM): Float32Array {
  const v = new Float32Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = Math.random() * 2 - 1;
    norm += v[i]! * v[i]!;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dim; i++) v[i]! /= norm;
  return v;
}

export function entry(sessionId: string, { dim = DIM, failed = false, tags = [] as string[] } = {}): WitnessEntry {
  const e = { ...createWitnessEntry(sessionId, unitVector(dim)), tags };
  return failed ? withError(e, { code: 'CUDA_OOM', message: 'out of memory on the generation step' }) : e;
}
