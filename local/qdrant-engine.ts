// Which Qdrant the local stack runs. The real server (v1.19.0, the version
// docker-compose.yml pins) whenever a binary is at hand, so tests and benches
// meet the engine production runs; the embedded one (local/qdrant/server.py)
// on a fresh machine without it, or when QDRANT_LOCAL=1 asks for it.
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export type QdrantEngine =
  | { kind: 'server'; bin: string; staticDir?: string; why: string }
  | { kind: 'embedded'; why: string };

/** The shared build every developer machine and CI has (see ../shared/qdrant/README.md). */
export function sharedQdrantBin(repoRoot: string): string {
  return resolve(repoRoot, '..', 'shared', 'qdrant', 'qdrant');
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * QDRANT_LOCAL=1 forces the embedded engine; QDRANT_BIN names a server binary
 * (an error when it is not one, rather than silently testing something else);
 * otherwise ../shared/qdrant/qdrant is used when it exists.
 */
export function qdrantEngine(repoRoot: string, env: NodeJS.ProcessEnv): QdrantEngine {
  const forced = env.QDRANT_LOCAL?.trim();
  if (forced !== undefined && forced !== '' && forced !== '0') {
    if (forced !== '1') throw new Error(`QDRANT_LOCAL=${JSON.stringify(forced)} is not valid (expected 1 to force the embedded engine, or 0/unset)`);
    return { kind: 'embedded', why: 'QDRANT_LOCAL=1' };
  }
  const named = env.QDRANT_BIN?.trim();
  if (named) {
    const bin = resolve(named);
    if (!executable(bin)) throw new Error(`QDRANT_BIN=${JSON.stringify(named)} is not an executable file`);
    return { kind: 'server', bin, staticDir: consoleDir(bin, repoRoot), why: 'QDRANT_BIN' };
  }
  const shared = sharedQdrantBin(repoRoot);
  if (executable(shared)) return { kind: 'server', bin: shared, staticDir: consoleDir(shared, repoRoot), why: shared };
  return { kind: 'embedded', why: `no Qdrant server binary (QDRANT_BIN unset, ${shared} absent)` };
}

// The web console (qdrant-web-ui) beside the binary, else the shared build's.
function consoleDir(bin: string, repoRoot: string): string | undefined {
  for (const dir of [join(dirname(bin), 'static'), join(dirname(sharedQdrantBin(repoRoot)), 'static')]) {
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/** The server's configuration, through its QDRANT__… variables (storage under runDir, no telemetry). */
export function serverEnv(
  engine: Extract<QdrantEngine, { kind: 'server' }>,
  { dir, httpPort, grpcPort, apiKey, readOnlyApiKey }: { dir: string; httpPort: number; grpcPort: number; apiKey?: string; readOnlyApiKey?: string },
): Record<string, string> {
  return {
    QDRANT__SERVICE__HOST: '127.0.0.1',
    QDRANT__SERVICE__HTTP_PORT: String(httpPort),
    QDRANT__SERVICE__GRPC_PORT: String(grpcPort),
    QDRANT__STORAGE__STORAGE_PATH: join(dir, 'storage'),
    QDRANT__STORAGE__SNAPSHOTS_PATH: join(dir, 'snapshots'),
    QDRANT__TELEMETRY_DISABLED: 'true',
    QDRANT__LOG_LEVEL: 'INFO',
    ...(engine.staticDir ? { QDRANT__SERVICE__STATIC_CONTENT_DIR: engine.staticDir } : { QDRANT__SERVICE__ENABLE_STATIC_CONTENT: 'false' }),
    ...(apiKey ? { QDRANT__SERVICE__API_KEY: apiKey } : {}),
    // The key that may read and not write (what docker-compose.yml gives operators).
    ...(readOnlyApiKey ? { QDRANT__SERVICE__READ_ONLY_API_KEY: readOnlyApiKey } : {}),
  };
}
