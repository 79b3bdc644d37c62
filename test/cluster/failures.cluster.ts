// The pipeline on the cluster profile (3 Kafka nodes, 3 Qdrant peers), with nodes
// failing under steady SDK load and two consumer instances in one group (issue 19):
// (a) the partition leader's broker SIGKILLed and restarted, (b) a Qdrant peer
// holding replicas SIGKILLed for 30 s and restarted, (c) a consumer instance
// SIGKILLed during a flush while a broker is down. Each ends with the ledger's
// id-by-id verification (0 missing, 0 duplicated) and the lag back to 0; the times
// to recover are printed, never asserted (the machine is shared and slow).
// Run by `npm run test:cluster`, which starts the cluster and stops it afterwards.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ledger } from '../support/reliability/ledger.js';
import { steadyLoad, type Load, type NamedProducer } from '../support/reliability/load.js';
import { waitUntil, type Names } from '../support/reliability/pipeline.js';
import { clusterPipeline, type ClusterConsumer, type ClusterPipeline } from '../support/cluster-pipeline.js';

const RATE = 60;
let cluster: ClusterPipeline;
before(async () => {
  cluster = await clusterPipeline();
});
after(async () => {
  await cluster?.cleanup();
});

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Scenario {
  ledger: Ledger;
  names: Names;
  consumers: ClusterConsumer[];
  producers: NamedProducer[];
  load: Load;
}

/** A topic of 6 partitions, two consumer instances in one group writing, a steady load from two producers. */
async function startScenario(prefix: string): Promise<Scenario> {
  const ledger = new Ledger(prefix);
  const names = cluster.names(prefix);
  await cluster.createTopic(names, 6);
  const consumers = [await cluster.consumer(names), await cluster.consumer(names)];
  await Promise.all(consumers.map((c) => c.service.start()));
  const producers = [cluster.producer(names), cluster.producer(names)];
  const load = steadyLoad(ledger, producers, RATE);
  await waitUntil('both instances to write', async () => (await Promise.all(consumers.map((c) => c.metric('witness_entries_upserted_total')))).every((n) => n > 0), 120_000);
  // A few seconds of steady flow before the failure.
  await waitUntil('the stream to be steady', async () => (await upserted(consumers)) >= 3 * RATE, 120_000);
  return { ledger, names, consumers, producers, load };
}

async function upserted(consumers: ClusterConsumer[]): Promise<number> {
  const counts = await Promise.all(consumers.map((c) => c.metric('witness_entries_upserted_total').catch(() => 0)));
  return counts.reduce((a, b) => a + b, 0);
}

/** Time until the live instances write again: the stream flows past the failure. */
async function timeToFlow(consumers: ClusterConsumer[], from: number): Promise<number> {
  const before = await upserted(consumers);
  await waitUntil('the stream to reach Qdrant again', async () => (await upserted(consumers)) > before + RATE, 180_000, 200);
  return performance.now() - from;
}

async function finish(t: TestContext, s: Scenario): Promise<void> {
  await sleep(1_000);
  await s.load.stop();
  await Promise.all(s.producers.map((p) => p.producer.flush()));
  const drainFrom = performance.now();
  await cluster.waitDrained(s.names);
  t.diagnostic(`lag 0 ${seconds(performance.now() - drainFrom)} after the load stopped`);
  const tally = await cluster.verify(s.ledger, s.names, s.producers, (line) => t.diagnostic(line));
  assert.equal(tally.missing, 0);
  assert.equal(tally.duplicatedPoints, 0);
  assert.equal(await cluster.lag(s.names), 0);
  await Promise.all(s.consumers.map((c) => c.service.stop({ signal: 'SIGTERM', graceMs: 30_000 })));
  // The cluster's data outlives the run: what a scenario made goes, or every restart reloads it.
  await cluster.drop(s.names);
}

describe('the pipeline on a Kafka and a Qdrant cluster', { timeout: 900_000 }, () => {
  test('replication settings: topic RF 3 with min.insync.replicas 2, collection with shards and 2 replicas', async (t) => {
    const s = await startScenario('cl-settings');
    const a = await cluster.admin();
    const { topics } = await a.fetchTopicMetadata({ topics: [s.names.topic] });
    for (const p of topics[0]!.partitions) assert.equal(p.replicas.length, 3, `partition ${p.partitionId} replicas`);
    const configs = await a.describeConfigs({ resources: [{ type: 2 /* TOPIC */, name: s.names.topic, configNames: ['min.insync.replicas'] }], includeSynonyms: false });
    assert.equal(configs.resources[0]!.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue, '2');
    const info = await cluster.qdrant.getCollection(s.names.collection);
    const params = info.config.params;
    t.diagnostic(`collection: shard_number ${params.shard_number}, replication_factor ${params.replication_factor}, write_consistency_factor ${params.write_consistency_factor}`);
    assert.equal(params.shard_number, 3);
    assert.equal(params.replication_factor, 2);
    assert.equal(params.write_consistency_factor, 1);
    // Each shard has 2 replicas on distinct peers: 6 shard replicas over the 3 peers.
    const placed = await Promise.all(cluster.qdrantUrls.map(async (url) => {
      const res = await fetch(`${url}/collections/${s.names.collection}/cluster`);
      return ((await res.json()) as { result: { local_shards: unknown[] } }).result.local_shards.length;
    }));
    t.diagnostic(`shard replicas per peer: ${placed.join(', ')}`);
    assert.equal(placed.reduce((x, y) => x + y, 0), 6);
    await finish(t, s);
  });

  test('(a) the partition leader\'s broker SIGKILLed and restarted', async (t) => {
    const s = await startScenario('cl-leader');
    const { topics } = await (await cluster.admin()).fetchTopicMetadata({ topics: [s.names.topic] });
    const leaderId = topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
    const node = cluster.kafkaNodes[leaderId - 1]!;
    t.diagnostic(`killing ${node.name} (leader of partition 0) after ${s.load.recorded} entries`);
    const killedAt = performance.now();
    await node.kill();
    t.diagnostic(`stream flowing again ${seconds(await timeToFlow(s.consumers, killedAt))} after the kill, with ${node.name} down`);
    await sleep(5_000);
    const restartAt = performance.now();
    await node.start();
    await cluster.waitHealthy(s.names);
    t.diagnostic(`${node.name} back and every replica in sync ${seconds(performance.now() - restartAt)} after its restart`);
    await finish(t, s);
  });

  test('(b) a Qdrant peer holding replicas SIGKILLed for 30 s and restarted', async (t) => {
    const s = await startScenario('cl-peer');
    // Not the peer the consumers and the ledger talk to: a load balancer would hide that one.
    const url = cluster.qdrantUrls[2]!;
    const res = await fetch(`${url}/collections/${s.names.collection}/cluster`);
    const local = ((await res.json()) as { result: { local_shards: Array<{ shard_id: number }> } }).result.local_shards;
    assert.ok(local.length > 0, 'qdrant-3 holds shard replicas');
    const peer = cluster.qdrantPeers[2]!;
    t.diagnostic(`killing ${peer.name} (replicas of shards ${local.map((x) => x.shard_id).join(', ')}) after ${s.load.recorded} entries`);
    const killedAt = performance.now();
    await peer.kill();
    t.diagnostic(`stream flowing again ${seconds(await timeToFlow(s.consumers, killedAt))} after the kill`);
    await sleep(Math.max(0, 30_000 - (performance.now() - killedAt)));
    const restartAt = performance.now();
    await peer.start();
    await waitUntil(`${peer.name}'s replicas to be active again`, async () => {
      const info = await (await fetch(`${cluster.qdrantUrls[0]}/collections/${s.names.collection}/cluster`)).json() as {
        result: { local_shards: Array<{ state: string }>; remote_shards: Array<{ state: string }> };
      };
      return [...info.result.local_shards, ...info.result.remote_shards].every((x) => x.state === 'Active');
    }, 180_000, 500);
    t.diagnostic(`${peer.name} back, its replicas Active ${seconds(performance.now() - restartAt)} after its restart`);
    await finish(t, s);
  });

  test('(c) a consumer instance SIGKILLed during a flush while a broker is down', async (t) => {
    const s = await startScenario('cl-flushkill');
    // A broker that leads none of the group's coordinator duties in particular: the third one.
    const node = cluster.kafkaNodes[2]!;
    await node.kill();
    t.diagnostic(`${node.name} killed after ${s.load.recorded} entries`);
    const [victim, survivor] = s.consumers as [ClusterConsumer, ClusterConsumer];
    // During a flush: it has written and holds fetched entries it has not committed.
    const before = await victim.metric('witness_entries_upserted_total');
    await waitUntil('the instance to be in the middle of a flush', async () => {
      const [written, buffered] = await Promise.all([victim.metric('witness_entries_upserted_total'), victim.metric('witness_buffered_entries')]);
      return written > before && buffered > 0;
    }, 120_000, 20);
    const rebalances = await survivor.metric('witness_rebalances_total');
    const killedAt = performance.now();
    await victim.service.kill();
    // The victim's partitions wait for its session to expire (6 s), then the survivor takes them.
    await waitUntil('the survivor to take over the partitions', async () => (await survivor.metric('witness_rebalances_total')) > rebalances, 120_000);
    t.diagnostic(`the survivor took over ${seconds(performance.now() - killedAt)} after the consumer's SIGKILL`);
    await node.start();
    await cluster.waitHealthy(s.names);
    t.diagnostic(`${node.name} back and in sync ${seconds(performance.now() - killedAt)} after the consumer's SIGKILL`);
    await finish(t, { ...s, consumers: [survivor] });
  });
});
