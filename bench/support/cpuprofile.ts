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

/** µs of self time per profile node, (idle) left out: the share is of the time the thread was busy. */
function busyTime(profile: CpuProfile): Map<number, number> {
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta to the next one (the last sample gets none).
  for (let i = 0; i < samples.length; i++) if (!idle.has(samples[i]!)) selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + (deltas[i + 1] ?? 0));
  return selfUs;
}

/** The `top` functions by self time: the sampled time spent in the function itself, summed over its call sites. */
export function topSelfTime(profile: CpuProfile, top = 20, root = process.cwd()): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = busyTime(profile);
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

const load = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const busyMs = (p: CpuProfile) => [...busyTime(p).values()].reduce((a, b) => a + b, 0) / 1000;

/**
 * The busiest .cpuprofile in `dir`: node writes one per thread (tsx's loader
 * runs in a worker of its own), and the main thread is the one doing the work.
 */
export function busiestProfile(dir: string): { file: string; busyMs: number } | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  return files.map((file) => ({ file, busyMs: busyMs(load(file)) })).sort((a, b) => b.busyMs - a.busyMs)[0];
}

export function summariseProfile(file: string, top = 20): string {
  const rows = topSelfTime(load(file), top);
  return rows.map((r) => `  ${(r.share * 100).toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(7)} ms  ${r.fn}  ${r.where}`).join('\n');
}
