// A V8 .cpuprofile (what node --cpu-prof writes) summarised as the functions
// with the most self time, so a missed CPU target prints what bounds it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  fn: string;
  where: string;
  ms: number;
  share: number;
}

/** The `top` functions by self time: the sampled time spent in the function itself, summed over its call sites. */
export function topSelfTime(profile: CpuProfile, top = 20, root = process.cwd()): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta to the next one (the last sample gets none).
  for (let i = 0; i < samples.length; i++) selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + (deltas[i + 1] ?? 0));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const byFunction = new Map<string, SelfTime>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const fn = functionName || '(anonymous)';
    const where = url ? `${relative(root, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
    const key = `${fn} ${where}`;
    const row = byFunction.get(key) ?? { fn, where, ms: 0, share: 0 };
    row.ms += us / 1000;
    row.share = (row.ms * 1000) / total;
    byFunction.set(key, row);
  }
  return [...byFunction.values()].sort((a, b) => b.ms - a.ms).slice(0, top);
}

/** The .cpuprofile files in `dir`, newest last. */
export function profilesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => join(dir, f));
}

export function summariseProfile(file: string, top = 20): string {
  const rows = topSelfTime(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top);
  return rows.map((r) => `  ${(r.share * 100).toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(7)} ms  ${r.fn}  ${r.where}`).join('\n');
}
