// The cluster profile of the local stack (`npm run stack -- up --cluster`, or
// WITNESS_CLUSTER=1): three Kafka KRaft nodes (each broker and controller, a
// three-voter quorum) and three real Qdrant peers, on loopback, data under
// .run/cluster/. It shows the pipeline on the distributed engines production runs,
// and lets test/cluster/ kill one node of each under load.
//
// Ports come from two base ports, so several clusters can run side by side:
//   WITNESS_CLUSTER_KAFKA_PORT  (default KAFKA_PORT + 10): node i listens on base + 2i,
//                                its controller on base + 2i + 1
//   WITNESS_CLUSTER_QDRANT_PORT (default QDRANT_PORT + 10): peer i serves HTTP on base + 3i,
//                                gRPC on base + 3i + 1, peer-to-peer on base + 3i + 2
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessSpec } from './process.js';
import { qdrantEngine, serverEnv } from './qdrant-engine.js';
import {
  fill,
  kafkaJavaArgs,
  formatKafkaStorage,
  httpOk,
  kafkaReady,
  newKafkaClusterId,
  repoRoot,
  service,
  type Service,
  type StackConfig,
  type Toolchain,
} from './services.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from './process.js';

export const CLUSTER_SIZE = 3;

/** True when the cluster profile is asked for: WITNESS_CLUSTER=1 (`--cluster` sets it). */
export function clusterMode(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env.WITNESS_CLUSTER?.trim() ?? '';
  if (raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new Error(`WITNESS_CLUSTER=${JSON.stringify(raw)} is not valid (expected 1 for the cluster profile, or 0/unset)`);
}

export interface ClusterNodePorts {
  kafka: number;
  controller: number;
  qdrantHttp: number;
  qdrantGrpc: number;
  qdrantP2p: number;
}

export interface ClusterConfig {
  dir: string;
  kafkaHeap: string;
  nodes: ClusterNodePorts[];
}

function basePort(env: NodeJS.ProcessEnv, name: string, fallback: number, span: number): number {
  const raw = env[name]?.trim() ?? '';
  const n = raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n + span > 65535) {
    throw new Error(`${name}=${JSON.stringify(raw)} is not a valid base port (expected an integer 1..${65535 - span})`);
  }
  return n;
}

export function clusterConfig(cfg: StackConfig, env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  const kafkaBase = basePort(env, 'WITNESS_CLUSTER_KAFKA_PORT', cfg.kafkaPort + 10, 2 * CLUSTER_SIZE);
  const qdrantBase = basePort(env, 'WITNESS_CLUSTER_QDRANT_PORT', cfg.qdrantPort + 10, 3 * CLUSTER_SIZE);
  const nodes = Array.from({ length: CLUSTER_SIZE }, (_, i) => ({
    kafka: kafkaBase + 2 * i,
    controller: kafkaBase + 2 * i + 1,
    qdrantHttp: qdrantBase + 3 * i,
    qdrantGrpc: qdrantBase + 3 * i + 1,
    qdrantP2p: qdrantBase + 3 * i + 2,
  }));
  // 384 MiB each: three brokers beside the tests on a shared 24 GiB machine.
  return { dir: join(cfg.runDir, 'cluster'), kafkaHeap: env.WITNESS_CLUSTER_KAFKA_HEAP ?? '384m', nodes };
}

export function clusterBrokers(cc: ClusterConfig): string[] {
  return cc.nodes.map((n) => `127.0.0.1:${n.kafka}`);
}

export function clusterQdrantUrls(cc: ClusterConfig): string[] {
  return cc.nodes.map((n) => `http://127.0.0.1:${n.qdrantHttp}`);
}

/**
 * What points a consumer at the cluster, and the replication its collection is
 * created with: 3 shards (one leader per peer), 2 replicas of each, a write
 * acknowledged by 1 (a peer down for a while must not stop the intake; the
 * offset is committed only after Qdrant's acknowledgement, and Kafka keeps the
 * entries until then). Variables already set win.
 */
export function clusterEnv(cc: ClusterConfig, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const defaults: Record<string, string> = {
    WITNESS_SHARD_NUMBER: '3',
    WITNESS_REPLICATION_FACTOR: '2',
    WITNESS_WRITE_CONSISTENCY_FACTOR: '1',
  };
  return {
    WITNESS_KAFKA_BROKERS: clusterBrokers(cc).join(','),
    WITNESS_QDRANT_URL: clusterQdrantUrls(cc)[0]!,
    WITNESSLOG_CLUSTER_QDRANT_URLS: clusterQdrantUrls(cc).join(','),
    ...Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, env[k] ?? v])),
  };
}

/** The three Kafka nodes, then the three Qdrant peers. */
export function clusterServices(cfg: StackConfig, tools: Toolchain, cc: ClusterConfig = clusterConfig(cfg)): Service[] {
  return [...cc.nodes.map((_, i) => kafkaNode(cc, tools, i)), ...cc.nodes.map((_, i) => qdrantPeer(cc, i))];
}

function kafkaNode(cc: ClusterConfig, tools: Toolchain, i: number): Service {
  const node = cc.nodes[i]!;
  const dir = join(cc.dir, `kafka-${i + 1}`);
  const dataDir = join(dir, 'data');
  const props = join(dir, 'server.properties');
  const name = `kafka-${i + 1}`;
  const spec: ProcessSpec = {
    name,
    command: tools.java,
    args: kafkaJavaArgs(tools, cc.kafkaHeap, props),
    logFile: join(cc.dir, 'logs', `${name}.log`),
    pidFile: join(cc.dir, 'pids', `${name}.pid`),
    ports: [node.kafka, node.controller],
  };
  const prepare = async () => {
    mkdirSync(dataDir, { recursive: true });
    const voters = cc.nodes.map((n, j) => `${j + 1}@127.0.0.1:${n.controller}`).join(',');
    const template = readFileSync(join(repoRoot, 'local/kafka/cluster.properties'), 'utf8');
    writeFileSync(
      props,
      fill(template, { NODE_ID: i + 1, VOTERS: voters, KAFKA_PORT: node.kafka, KAFKA_CONTROLLER_PORT: node.controller, KAFKA_DATA_DIR: dataDir }),
    );
    if (!existsSync(join(dataDir, 'meta.properties'))) await formatKafkaStorage(tools, props, [], clusterId(cc));
  };
  // Its own listener answers and the group coordinator is reachable (which needs 2 of 3 nodes).
  return service(name, `PLAINTEXT://127.0.0.1:${node.kafka}`, spec, () => kafkaReady([`127.0.0.1:${node.kafka}`]), prepare, 180_000);
}

// One id for the three nodes, kept beside their folders (a node restarted later formats nothing).
function clusterId(cc: ClusterConfig): string {
  const file = join(cc.dir, 'kafka-cluster-id');
  if (!existsSync(file)) {
    mkdirSync(cc.dir, { recursive: true });
    writeFileSync(file, newKafkaClusterId(), { flag: 'wx' });
  }
  return readFileSync(file, 'utf8').trim();
}

function qdrantPeer(cc: ClusterConfig, i: number): Service {
  const engine = qdrantEngine(repoRoot, process.env);
  if (engine.kind !== 'server') {
    throw new Error(`the cluster profile needs the real Qdrant server (the embedded engine has no cluster mode): ${engine.why}`);
  }
  const node = cc.nodes[i]!;
  const first = cc.nodes[0]!;
  const dir = join(cc.dir, `qdrant-${i + 1}`);
  const name = `qdrant-${i + 1}`;
  const url = `http://127.0.0.1:${node.qdrantHttp}`;
  const firstUrl = `http://127.0.0.1:${first.qdrantHttp}`;
  const spec: ProcessSpec = {
    name,
    command: engine.bin,
    // The first peer starts the consensus; the others join through it. A restarted peer
    // finds its peers in its own storage and ignores --bootstrap.
    args: i === 0 ? ['--uri', `http://127.0.0.1:${node.qdrantP2p}`] : ['--bootstrap', `http://127.0.0.1:${first.qdrantP2p}`, '--uri', `http://127.0.0.1:${node.qdrantP2p}`],
    cwd: dir,
    env: {
      ...serverEnv(engine, { dir, httpPort: node.qdrantHttp, grpcPort: node.qdrantGrpc }),
      QDRANT__CLUSTER__ENABLED: 'true',
      QDRANT__CLUSTER__P2P__PORT: String(node.qdrantP2p),
    },
    logFile: join(cc.dir, 'logs', `${name}.log`),
    pidFile: join(cc.dir, 'pids', `${name}.pid`),
    ports: [node.qdrantHttp, node.qdrantGrpc, node.qdrantP2p],
  };
  const prepare = async () => {
    mkdirSync(dir, { recursive: true });
    // `up` starts every node at once: a joining peer waits for the first one.
    if (i > 0) await waitFor('qdrant-1 (the peer the others join through)', () => httpOk(`${firstUrl}/readyz`), { timeoutMs: 60_000 });
  };
  const ready = async () => (await httpOk(`${url}/readyz`)) && (await peerCount(url)) === CLUSTER_SIZE;
  const s = service(name, url, spec, ready, prepare);
  return { ...s, note: `Qdrant peer, p2p :${node.qdrantP2p}, gRPC :${node.qdrantGrpc}`, start: () => startRetryingAddrInUse(s) };
}

/**
 * A peer restarted soon after it stopped can find its gRPC or p2p port still held by
 * the connections it closed (TIME_WAIT, up to a minute; the server does not set
 * SO_REUSEADDR there) and exits with AddrInUse: it is started again until the port is free.
 */
async function startRetryingAddrInUse(s: Service, attempts = 16): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const logStart = existsSync(s.spec.logFile) ? statSync(s.spec.logFile).size : 0;
    try {
      return await s.start();
    } catch (err) {
      // What this attempt logged (the error quotes only the last lines, a backtrace).
      const logged = existsSync(s.spec.logFile) ? readFileSync(s.spec.logFile).subarray(logStart).toString() : '';
      if (attempt >= attempts || !/AddrInUse|Address already in use/.test(logged)) throw err;
      await sleep(5_000);
    }
  }
}

/** How many peers this peer's consensus knows, with a leader elected (0 when it has none). */
export async function peerCount(url: string): Promise<number> {
  const res = await fetch(`${url}/cluster`, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) return 0;
  const body = (await res.json()) as { result?: { status?: string; peers?: Record<string, unknown>; raft_info?: { leader?: number | null } } };
  const r = body.result;
  return r?.status === 'enabled' && r.raft_info?.leader != null ? Object.keys(r.peers ?? {}).length : 0;
}
