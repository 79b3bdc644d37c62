// The Qdrant engines a bench reports into: the one the stack runs (WITNESS_QDRANT_URL)
// and, where the real server binary is present, the other one too, started here
// on a free port with a data folder of its own, so one run prints the real
// server and the embedded engine (local/qdrant/, on Qdrant Edge) side by side.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qdrantEngine } from '../../local/qdrant-engine.js';
import { loadToolchain, qdrantService, repoRoot, stackConfig } from '../../local/services.js';
import { freePort } from '../../test/support/net.js';

export interface QdrantTarget {
  /** For tables: "real Qdrant server" or "embedded Qdrant (Edge)". */
  label: string;
  url: string;
}

const LABELS = { server: 'real Qdrant server', embedded: 'embedded Qdrant (Edge)' } as const;

export async function qdrantTargets(stackUrl: string): Promise<{ targets: QdrantTarget[]; close(): Promise<void> }> {
  const stackKind = process.env.WITNESSLOG_QDRANT_ENGINE === 'embedded' ? 'embedded' : 'server';
  const targets: QdrantTarget[] = [{ label: LABELS[stackKind], url: stackUrl }];
  if (qdrantEngine(repoRoot, { ...process.env, QDRANT_LOCAL: '' }).kind !== 'server') return { targets, close: async () => {} };
  const other = stackKind === 'server' ? 'embedded' : 'server';
  const dir = mkdtempSync(join(tmpdir(), 'bench-qdrant-'));
  const cfg = stackConfig({ ...process.env, QDRANT_PORT: String(await freePort()), QDRANT_GRPC_PORT: String(await freePort()), WITNESSLOG_RUN_DIR: dir });
  const service = qdrantService(cfg, loadToolchain(), { QDRANT_LOCAL: other === 'embedded' ? '1' : '0', QDRANT_API_KEY: '' });
  await service.start();
  targets.push({ label: LABELS[other], url: service.address });
  return {
    targets,
    close: async () => {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
