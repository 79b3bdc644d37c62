// Finding the seqs of one producer that are not stored, by counting, never by
// reading points: `producer.seq` is an integer index, so "how many points of this
// producer have a seq in these ranges" is answered from the index. A set of
// ranges whose count equals its size holds no gap; a count of 0 is one whole gap;
// anything else is split in 16 parts (first the list of ranges, then a single
// range) and each part counted. A window of a million seqs with a few gaps costs
// about 80 counts per gap in 5 rounds, whatever the window's size.
//
// A count above the size means two points claim one seq (a duplicate the SDK
// never writes): it hides gaps, so such a set is split too, down to single seqs,
// and the duplicated seqs are reported. A duplicate and a gap that cancel out
// within one counted set are invisible to counts: the SDK never writes the same
// seq twice, so that takes a forged entry, and reading every point would be the
// only way to see it.

/** An inclusive range of seqs, [from, to]. */
export type SeqRange = [number, number];

/** Counts the stored points whose seq falls in any of `ranges`. */
export type RangeCounter = (ranges: readonly SeqRange[]) => Promise<number>;

export interface Holes {
  /** The seqs with no stored point, as sorted, merged ranges. */
  holes: SeqRange[];
  /** Seqs stored more than once. */
  duplicates: number[];
}

// Ranges per count request: a filter of this many clauses stays small and quick.
const MAX_RANGES_PER_COUNT = 256;
const FANOUT = 16;

export const rangeSize = (ranges: readonly SeqRange[]): number => ranges.reduce((n, [a, b]) => n + (b - a + 1), 0);

/** The holes of `ranges` (sorted, non-overlapping), counting with `count`. */
export async function findHoles(ranges: readonly SeqRange[], count: RangeCounter): Promise<Holes> {
  const holes: SeqRange[] = [];
  const duplicates: number[] = [];
  async function search(set: readonly SeqRange[]): Promise<void> {
    if (set.length === 0) return;
    if (set.length > MAX_RANGES_PER_COUNT) return halves(set);
    const size = rangeSize(set);
    const n = await count(set);
    if (n === size) return;
    if (n === 0) {
      holes.push(...set);
      return;
    }
    if (size === 1) {
      if (n > 1) duplicates.push(set[0]![0]);
      return;
    }
    return halves(set);
  }
  // Parts, not halves: a count costs about the points it covers, so splitting 16
  // ways visits each point of the window about once above the gaps instead of once
  // per level, in 5 rounds for a million seqs instead of 20.
  async function halves(set: readonly SeqRange[]): Promise<void> {
    const parts: SeqRange[][] = [];
    if (set.length > 1) {
      const per = Math.ceil(set.length / FANOUT);
      for (let i = 0; i < set.length; i += per) parts.push(set.slice(i, i + per));
    } else {
      const [a, b] = set[0]!;
      const per = Math.ceil((b - a + 1) / FANOUT);
      for (let lo = a; lo <= b; lo += per) parts.push([[lo, Math.min(b, lo + per - 1)]]);
    }
    await Promise.all(parts.map(search));
  }
  await search(ranges);
  return { holes: merge(holes), duplicates: duplicates.sort((a, b) => a - b) };
}

/** Sorted, with overlapping and adjacent ranges merged. */
export function merge(ranges: readonly SeqRange[]): SeqRange[] {
  const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
  const out: SeqRange[] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Seqs (any order, repeats allowed) as merged ranges. */
export function toRanges(seqs: Iterable<number>): SeqRange[] {
  return merge([...new Set(seqs)].map((s): SeqRange => [s, s]));
}

/** The part of `ranges` inside [from, to]. */
export function clip(ranges: readonly SeqRange[], from: number, to: number): SeqRange[] {
  const out: SeqRange[] = [];
  for (const [a, b] of ranges) {
    const lo = Math.max(a, from);
    const hi = Math.min(b, to);
    if (lo <= hi) out.push([lo, hi]);
  }
  return out;
}

/** `a` (merged) without the seqs of `b` (merged). */
export function subtract(a: readonly SeqRange[], b: readonly SeqRange[]): SeqRange[] {
  const out: SeqRange[] = [];
  for (const [from, to] of a) {
    let lo = from;
    for (const [x, y] of b) {
      if (y < lo || x > to) continue;
      if (x > lo) out.push([lo, x - 1]);
      lo = Math.max(lo, y + 1);
      if (lo > to) break;
    }
    if (lo <= to) out.push([lo, to]);
  }
  return out;
}

/** The seqs in both `a` and `b` (both merged). */
export function intersect(a: readonly SeqRange[], b: readonly SeqRange[]): SeqRange[] {
  const out: SeqRange[] = [];
  for (const [from, to] of a) out.push(...clip(b, from, to));
  return merge(out);
}
