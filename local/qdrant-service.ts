// Qdrant in the local stack: the real server where a binary is at hand, else the
// embedded engine (local/qdrant/); qdrant-engine.ts decides which.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { portInUse, type ProcessSpec } from './process.js';
import { qdrantEngine, serverEnv, type QdrantEngine } from './qdrant-engine.js';
import { repoRoot, service, httpOk, type StackConfig, type Toolchain, type Service } from './service.js';

/**
 * Qdrant: the real server when a binary is at hand, else the embedded engine
 * (see local/qdrant-engine.ts). `env` is added to the process environment for
 * the choice and the process: QDRANT_API_KEY, QDRANT_READ_ONLY_API_KEY, QDRANT_LOCAL, QDRANT_BIN.
 */
export function qdrantService(cfg: StackConfig, tools: Toolchain, env: NodeJS.ProcessEnv = {}): Service {
  const engine = qdrantEngine(repoRoot, { ...process.env, ...env });
  return engine.kind === 'server' ? qdrantServer(cfg, engine, env) : qdrantEmbedded(cfg, tools, env, engine.why);
}

function qdrantEmbedded(cfg: StackConfig, tools: Toolchain, env: NodeJS.ProcessEnv, why: string): Service {
  const dataDir = join(cfg.runDir, 'qdrant', 'data');
  const spec: ProcessSpec = {
    name: 'qdrant',
    command: tools.python,
    args: [join(repoRoot, 'local/qdrant/server.py'), '--host', '127.0.0.1', '--port', String(cfg.qdrantPort), '--data', dataDir],
    env,
    logFile: join(cfg.runDir, 'logs', 'qdrant.log'),
    pidFile: join(cfg.runDir, 'pids', 'qdrant.pid'),
    ports: [cfg.qdrantPort],
  };
  const url = `http://127.0.0.1:${cfg.qdrantPort}`;
  const s = service('qdrant', url, spec, () => httpOk(`${url}/readyz`), async () => {
    mkdirSync(dataDir, { recursive: true });
  });
  return { ...s, note: `embedded engine, local/qdrant/server.py (${why})` };
}

function qdrantServer(cfg: StackConfig, engine: Extract<QdrantEngine, { kind: 'server' }>, env: NodeJS.ProcessEnv): Service {
  const dir = join(cfg.runDir, 'qdrant-server');
  const apiKey = env.QDRANT_API_KEY ?? process.env.QDRANT_API_KEY;
  const readOnlyApiKey = env.QDRANT_READ_ONLY_API_KEY ?? process.env.QDRANT_READ_ONLY_API_KEY;
  const spec: ProcessSpec = {
    name: 'qdrant',
    command: engine.bin,
    args: [],
    // Its working directory is its own: the server reads ./config/*.yaml from it.
    cwd: dir,
    env: {},
    logFile: join(cfg.runDir, 'logs', 'qdrant.log'),
    pidFile: join(cfg.runDir, 'pids', 'qdrant.pid'),
    ports: [cfg.qdrantPort],
  };
  const url = `http://127.0.0.1:${cfg.qdrantPort}`;
  const prepare = async () => {
    mkdirSync(dir, { recursive: true });
    // Nothing of ours speaks gRPC; a test that starts its own server beside the
    // stack's (same QDRANT_GRPC_PORT in its environment) gets a free one instead.
    const grpcPort = (await portInUse(cfg.qdrantGrpcPort)) ? await freePort() : cfg.qdrantGrpcPort;
    spec.env = { ...env, ...serverEnv(engine, { dir, httpPort: cfg.qdrantPort, grpcPort, apiKey, readOnlyApiKey }) };
    spec.ports = [cfg.qdrantPort, grpcPort];
  };
  const s = service('qdrant', url, spec, () => httpOk(`${url}/readyz`), prepare);
  const dashboard = engine.staticDir ? `; web console ${url}/dashboard/` : '';
  return { ...s, note: `Qdrant server ${engine.bin} (${engine.why === 'QDRANT_BIN' ? 'QDRANT_BIN' : 'shared build'}; gRPC :${cfg.qdrantGrpcPort}${dashboard})` };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}
