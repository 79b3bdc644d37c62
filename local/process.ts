// A background process of the local stack: started detached in its own process
// group (so stopping it also stops what it forks), logging to a file, with a pid
// file so a later `stack down` (or a crashed run) can find and stop it.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  pidFile: string;
  /** Ports the process listens on: start refuses when one is taken, stop waits until all are free. */
  ports: number[];
}

/**
 * Laid over every child's environment: its output goes to a log file, which must
 * hold no terminal escape codes. NO_COLOR is the common convention (Qdrant's
 * logger, Node, Python's rich); CLICOLOR_FORCE and FORCE_COLOR override it in
 * those same programs (the real Qdrant server colours every log line under
 * CLICOLOR_FORCE=1), so a shell that exports them must not pass them on.
 */
export const NO_COLOR_ENV: NodeJS.ProcessEnv = Object.freeze({
  NO_COLOR: '1',
  NODE_DISABLE_COLORS: '1',
  CLICOLOR_FORCE: undefined,
  FORCE_COLOR: undefined,
});

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startProcess(spec: ProcessSpec): Promise<number> {
  const running = readPid(spec.pidFile);
  if (running) return running;
  for (const port of spec.ports) {
    if (await portInUse(port)) {
      throw new Error(
        `${spec.name}: port ${port} on 127.0.0.1 is already in use by another process; ` +
          `stop it or choose another port (see README, "Ports").`,
      );
    }
  }
  mkdirSync(dirname(spec.logFile), { recursive: true });
  mkdirSync(dirname(spec.pidFile), { recursive: true });
  const log = openSync(spec.logFile, 'a');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    // spawn leaves out variables whose value is undefined: NO_COLOR_ENV's removals.
    env: { ...process.env, ...spec.env, ...NO_COLOR_ENV },
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log);
  child.unref();
  if (!child.pid) throw new Error(`${spec.name}: could not start ${spec.command}`);
  writeFileSync(spec.pidFile, String(child.pid));
  return child.pid;
}

/** Signal the whole process group; SIGKILL after graceMs; wait until the ports are free. */
export async function stopProcess(spec: ProcessSpec, { signal = 'SIGTERM', graceMs = 15_000 } = {}): Promise<void> {
  const pid = readPid(spec.pidFile);
  if (pid) {
    signalGroup(pid, signal as NodeJS.Signals);
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(50);
  }
  rmSync(spec.pidFile, { force: true });
  for (const port of spec.ports) {
    const deadline = Date.now() + 10_000;
    while ((await portInUse(port)) && Date.now() < deadline) await sleep(100);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Poll `check` until it answers true; the error names the service and its log. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs = 60_000, logFile, pid }: { timeoutMs?: number; logFile?: string; pid?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    if (pid !== undefined && !isAlive(pid)) break;
    await sleep(200);
  }
  const tail = logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new Error(`${what} did not become ready${pid !== undefined && !isAlive(pid) ? ' (it exited)' : ''}. Last log lines of ${logFile}:\n${tail}`);
}
