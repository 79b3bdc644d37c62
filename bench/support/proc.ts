// Another process's CPU time and core set, read from /proc and set with taskset:
// how the pace benchmark charges each process (consumer, Qdrant, Kafka, Connect)
// its own CPU per entry, and keeps Qdrant on a core of its own.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { readPid } from '../../local/process.js';

// Clock ticks per second of utime/stime; 100 on every Linux we run on, asked once.
let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of `pid` (all its threads) in µs; NaN where /proc has no such process. */
export function cpuMicros(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return Number.NaN;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks();
}

/** The processes a figure charges CPU to, by name. */
export type Pids = Record<string, number>;

export function cpuSnapshot(pids: Pids): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMicros(pid)]));
}

/** µs of CPU per entry of each process between two snapshots. */
export function cpuPerEntry(before: Record<string, number>, after: Record<string, number>, entries: number): Record<string, number> {
  return Object.fromEntries(Object.keys(before).map((name) => [name, (after[name]! - before[name]!) / entries]));
}

/** The pids of the stack's Qdrant and Kafka, from the pid files the stack writes under its run folder. */
export function stackPids(runDir = process.env.WITNESSLOG_RUN_DIR ?? join(process.cwd(), '.run')): Partial<Pids> {
  const pid = (name: string) => {
    const file = join(runDir, 'pids', `${name}.pid`);
    return existsSync(file) ? readPid(file) : undefined;
  };
  const found: Partial<Pids> = {};
  const qdrant = pid('qdrant');
  const kafka = pid('kafka');
  if (qdrant) found.qdrant = qdrant;
  if (kafka) found.kafka = kafka;
  return found;
}

/** The cores to pin to: Qdrant on core 0, the rest on the others; undefined on one core. */
export function coreSplit(): { qdrant: string; rest: string; all: string } | undefined {
  const n = os.availableParallelism();
  if (n < 2) return undefined;
  return { qdrant: '0', rest: n === 2 ? '1' : `1-${n - 1}`, all: `0-${n - 1}` };
}

/** Every thread of `pid` onto `cores` (a taskset list such as "1-3"). */
export function pin(pid: number, cores: string): void {
  execFileSync('taskset', ['-a', '-pc', cores, String(pid)], { stdio: 'ignore' });
}
