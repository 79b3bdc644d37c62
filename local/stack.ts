// The local stack's command line (npm start, npm test, npm run stack -- <cmd>):
//   up      start Kafka, the Qdrant-compatible server and Prometheus in the background
//   down    stop whatever `up` (or a crashed run) left behind
//   status  say what runs where
//   test    up, run every test file with node:test, then stop what it started
//   unit    run the tests under */test/unit/ only (they need no service): no stack, no sockets, seconds
//   start   up, plus the consumer service, in the foreground; Ctrl-C stops everything
//   bench   up, run every bench/*.bench.ts one after another, print one table
// With --cluster (or WITNESS_CLUSTER=1) every command works on the cluster profile
// (local/cluster.ts: 3 Kafka nodes, 3 Qdrant peers) and `test` runs test/cluster/*.cluster.ts.
// Services that already run (from `npm run stack up`) are reused and left running,
// which keeps the edit-test loop fast.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { machine, type Row } from '../bench/support/report.js';
import { renderTable } from '../bench/support/table.js';
import {
  kafkaService,
  loadToolchain,
  prometheusService,
  alertmanagerService,
  qdrantService,
  consumerService,
  repoRoot,
  stackConfig,
  stackEnv,
  type Service,
  type StackConfig,
  type Toolchain,
} from './services.js';
import { clusterConfig, clusterEnv, clusterMode, clusterServices } from './cluster.js';

const log = (msg: string) => process.stderr.write(`[stack] ${msg}\n`);

function infrastructure(cfg: StackConfig, tools: Toolchain): Service[] {
  const storage = clusterMode() ? clusterServices(cfg, tools) : [kafkaService(cfg, tools), qdrantService(cfg, tools)];
  return [...storage, prometheusService(cfg, tools), alertmanagerService(cfg, tools)];
}

/** stackEnv, pointed at the cluster's nodes in the cluster profile. */
function clientEnv(cfg: StackConfig, tools: Toolchain): Record<string, string> {
  return { ...stackEnv(cfg, tools), ...(clusterMode() ? clusterEnv(clusterConfig(cfg)) : {}) };
}

/** Starts what is not running yet, in parallel; returns the services this call started. */
async function up(services: Service[]): Promise<Service[]> {
  const started: Service[] = [];
  const results = await Promise.allSettled(
    services.map(async (s) => {
      if (s.running() && (await s.ready().catch(() => false))) return;
      if (s.running()) await s.stop(); // a leftover that is not healthy
      await s.start();
      started.push(s);
      log(`${s.name} ready at ${s.address}`);
    }),
  );
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failed.length > 0) {
    await down(started);
    throw new Error(failed.map((e) => e.message).join('\n'));
  }
  return started;
}

async function down(services: Service[]): Promise<void> {
  // Reverse order: the consumer flushes into Qdrant and commits to Kafka before they go.
  for (const s of [...services].reverse()) {
    if (!s.running()) continue;
    await s.stop();
    log(`${s.name} stopped`);
  }
}

function testFiles(filters: string[]): string[] {
  // The cluster scenarios (test/cluster/*.cluster.ts) are heavier: only `test --cluster` runs them.
  const suffix = clusterMode() ? '.cluster.ts' : '.test.ts';
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(suffix) && path.split('/').includes('test')) found.push(relative(repoRoot, path));
    }
  };
  for (const dir of ['core', 'schemas', 'producer', 'consumer', 'test']) if (existsSync(join(repoRoot, dir))) walk(join(repoRoot, dir));
  found.sort();
  return filters.length === 0 ? found : found.filter((f) => filters.some((x) => f.includes(x)));
}

function run(command: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function test(filters: string[]): Promise<number> {
  const cfg = stackConfig();
  const tools = loadToolchain();
  const files = testFiles(filters);
  if (files.length === 0) {
    log(`no test files match ${filters.join(' ')}`);
    return 1;
  }
  // Type errors fail the run before any test does; the compiler runs while the stack starts.
  const typecheck = run('npx', ['tsc', '-b'], {});
  const started = await up(infrastructure(cfg, tools));
  let code = await typecheck;
  if (code !== 0) log('type check failed');
  const stopOnSignal = () => {
    log('interrupted: stopping the stack');
    void down(started).then(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const tested = await run(
      process.execPath,
      ['--conditions=witnesslog-src', '--import', 'tsx', '--test', '--test-reporter=spec', ...files],
      clientEnv(cfg, tools),
    );
    const pytested = clusterMode() ? 0 : await pytest(filters, stackEnv(cfg, tools));
    code = code || tested || pytested;
  } finally {
    await down(started);
  }
  return code;
}

/** A test file of the unit kind: it lives under a `unit/` folder of a `test/` tree. */
const isUnitTest = (file: string) => /(^|\/)test\/(.+\/)?unit\//.test(file);

/**
 * The tests that need no service (every test/unit/ folder): no stack, no type check,
 * seconds. test/support/no-network.ts refuses every socket, so a unit test that
 * reaches for a service fails instead of silently depending on one.
 */
async function unit(filters: string[]): Promise<number> {
  const files = testFiles(filters).filter(isUnitTest);
  if (files.length === 0) {
    log(`no unit test files match ${filters.join(' ')}`);
    return 1;
  }
  const guard = join(repoRoot, 'test/support/no-network.ts');
  return run(process.execPath, ['--conditions=witnesslog-src', '--import', 'tsx', '--import', guard, '--test', '--test-reporter=spec', ...files], {});
}

/**
 * The Python SDK's tests (producer/python/tests), against the same stack; they run when
 * no filter is given or a filter matches "python". The build setup.sh made is on PYTHONPATH.
 */
function pytest(filters: string[], env: Record<string, string>): Promise<number> {
  if (filters.length > 0 && !filters.some((f) => 'producer/python'.includes(f) || f.includes('python'))) return Promise.resolve(0);
  const { sdkPython, sdkPythonPath } = loadToolchain() as Toolchain & { sdkPython: string; sdkPythonPath: string };
  return run(sdkPython, ['-m', 'pytest', '-p', 'no:cacheprovider', 'producer/python/tests'], { ...env, PYTHONPATH: sdkPythonPath });
}

/** Each benchmark runs alone (they measure CPU); their headline rows make one table. */
async function bench(filters: string[]): Promise<number> {
  const cfg = stackConfig();
  const tools = loadToolchain();
  const dir = join(repoRoot, 'bench');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts') && (filters.length === 0 || filters.some((x) => f.includes(x))))
    .sort();
  const outDir = join(cfg.runDir, 'bench');
  mkdirSync(outDir, { recursive: true });
  const rowsFile = join(outDir, 'rows.jsonl');
  rmSync(rowsFile, { force: true });
  const started = await up(infrastructure(cfg, tools));
  let code = 0;
  try {
    for (const file of files) {
      log(`bench/${file}`);
      const exit = await run(
        process.execPath,
        ['--conditions=witnesslog-src', '--import', 'tsx', join('bench', file)],
        { ...clientEnv(cfg, tools), WITNESS_BENCH_REPORT: rowsFile },
      );
      if (exit !== 0) log(`bench/${file} failed with exit code ${exit}`);
      code ||= exit;
    }
  } finally {
    await down(started);
  }
  const rows = existsSync(rowsFile)
    ? readFileSync(rowsFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Row)
    : [];
  const table = renderTable(rows, machine());
  writeFileSync(join(outDir, 'report.md'), `${table}\n`);
  process.stdout.write(`\n${table}\n\n`);
  log(`table also written to ${relative(repoRoot, join(outDir, 'report.md'))}`);
  return code;
}

async function start(): Promise<number> {
  const cfg = stackConfig();
  const tools = loadToolchain();
  const services = [...infrastructure(cfg, tools), consumerService(cfg, tools, clusterMode() ? clusterEnv(clusterConfig(cfg)) : {})];
  const started = await up(services.slice(0, -1));
  try {
    started.push(...(await up(services.slice(-1))));
  } catch (err) {
    // No half-started stack left behind: what this call started goes down again.
    await down(started);
    throw err;
  }
  log('witnesslog is up:');
  const width = Math.max(...services.map((s) => s.name.length));
  for (const s of services) {
    log(`  ${s.name.padEnd(width)} ${s.address}   (log: ${relative(repoRoot, s.spec.logFile)})${s.note ? `\n${' '.repeat(width + 11)}${s.note}` : ''}`);
  }
  log(started.length === services.length ? 'Ctrl-C stops everything.' : 'Ctrl-C stops what this command started (the rest was already running).');
  // In the foreground until Ctrl-C, or until a service dies: the services are
  // detached processes, so this watch is also what keeps Node from exiting.
  let watch: NodeJS.Timeout | undefined;
  const why = await new Promise<string>((resolve) => {
    watch = setInterval(() => {
      const dead = services.find((s) => !s.running());
      if (dead) resolve(`${dead.name} exited (see ${relative(repoRoot, dead.spec.logFile)})`);
    }, 2_000);
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  clearInterval(watch);
  log(`stopping: ${why}`);
  await down(started);
  return why.startsWith('SIG') ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [command = 'status', ...args] = argv;
  // `bench scale` measures consumer instances against the cluster: it runs in the cluster profile.
  if (args.includes('--cluster') || (command === 'bench' && args.includes('scale'))) process.env.WITNESS_CLUSTER = '1';
  const rest = args.filter((a) => a !== '--cluster');
  const cfg = stackConfig();
  switch (command) {
    case 'up':
      await up(infrastructure(cfg, loadToolchain()));
      return 0;
    case 'down':
      await down([...infrastructure(cfg, loadToolchain()), consumerService(cfg, loadToolchain())]);
      return 0;
    case 'status': {
      const services = [...infrastructure(cfg, loadToolchain()), consumerService(cfg, loadToolchain())];
      const width = Math.max(...services.map((s) => s.name.length));
      for (const s of services) {
        const state = s.running() ? ((await s.ready().catch(() => false)) ? 'ready' : 'starting/unhealthy') : 'stopped';
        log(`${s.name.padEnd(width)} ${state.padEnd(18)} ${s.address}${s.note ? `   ${s.note}` : ''}`);
      }
      return 0;
    }
    case 'clean':
      await down([...infrastructure(cfg, loadToolchain()), consumerService(cfg, loadToolchain())]);
      for (const d of ['kafka', 'qdrant', 'qdrant-server', 'prometheus', 'logs', ...(clusterMode() ? ['cluster'] : [])]) rmSync(join(cfg.runDir, d), { recursive: true, force: true });
      return 0;
    case 'test':
      return test(rest);
    case 'unit':
      return unit(rest);
    case 'start':
      return start();
    case 'bench':
      return bench(rest);
    default:
      log(`unknown command ${command}: use up | down | status | clean | test [filter…] | unit [filter…] | start | bench [filter…]`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    log(err.message);
    process.exit(1);
  },
);
