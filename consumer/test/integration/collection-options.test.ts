// The collection's storage settings (src/collection-options.ts): validated with
// the rest of the configuration, and applied when the consumer creates the
// collection; Qdrant's collection info must show each one.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { ensureCollection } from '../../src/store/collection.js';
import { collectionRequest, parseCollectionOptions } from '../../src/store/collection-options.js';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { qdrant, uniqueName } from '../../../test/support/pipeline.js';

const silent = pino({ level: 'silent' });

describe('collection options: parsing', () => {
  test('unset means Qdrant\'s defaults: the body is only our vectors', () => {
    const { options, problems } = parseCollectionOptions({});
    assert.deepEqual(problems, []);
    assert.deepEqual(options, {});
    assert.deepEqual(collectionRequest({ query: { size: 4, distance: 'Cosine' } }, options), { vectors: { query: { size: 4, distance: 'Cosine' } } });
    assert.deepEqual(loadConfig({}).qdrant.collectionOptions, {});
  });

  test('every option lands where Qdrant reads it', () => {
    const { options, problems } = parseCollectionOptions({
      WITNESS_VECTORS_ON_DISK: 'true',
      WITNESS_PAYLOAD_ON_DISK: 'yes',
      WITNESS_QUANTIZATION: 'INT8',
      WITNESS_HNSW_M: '32',
      WITNESS_HNSW_EF_CONSTRUCT: '200',
      WITNESS_SHARD_NUMBER: '6',
      WITNESS_REPLICATION_FACTOR: '3',
      WITNESS_WRITE_CONSISTENCY_FACTOR: '2',
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(collectionRequest({ query: { size: 4, distance: 'Cosine' } }, options), {
      vectors: { query: { size: 4, distance: 'Cosine', on_disk: true } },
      on_disk_payload: true,
      quantization_config: { scalar: { type: 'int8', quantile: 0.99, always_ram: true } },
      hnsw_config: { m: 32, ef_construct: 200 },
      shard_number: 6,
      replication_factor: 3,
      write_consistency_factor: 2,
    });
  });

  test('bad values are named with what was expected, through loadConfig too', () => {
    const { problems } = parseCollectionOptions({
      WITNESS_VECTORS_ON_DISK: 'maybe',
      WITNESS_QUANTIZATION: 'int4',
      WITNESS_HNSW_M: '-1',
      WITNESS_SHARD_NUMBER: '0',
      WITNESS_WRITE_CONSISTENCY_FACTOR: '2',
    });
    assert.deepEqual(problems, [
      'WITNESS_VECTORS_ON_DISK="maybe": expected true or false (or unset for Qdrant\'s default)',
      'WITNESS_QUANTIZATION="int4": expected int8 or none',
      'WITNESS_HNSW_M="-1": expected an integer from 0 to 128 (or unset for Qdrant\'s default)',
      'WITNESS_SHARD_NUMBER="0": expected an integer from 1 to 1024 (or unset for Qdrant\'s default)',
      'WITNESS_WRITE_CONSISTENCY_FACTOR="2": expected at most WITNESS_REPLICATION_FACTOR (1)',
    ]);
    assert.throws(() => loadConfig({ WITNESS_HNSW_EF_CONSTRUCT: 'lots' }), (e: unknown) => e instanceof ConfigError && /WITNESS_HNSW_EF_CONSTRUCT="lots"/.test(e.message));
  });
});

describe('collection options: what Qdrant makes of them', () => {
  const names: string[] = [];
  after(async () => {
    for (const name of names) await qdrant.deleteCollection(name).catch(() => {});
  });

  test('on-disk vectors and payload, int8 quantization, HNSW, shards and replication show in collection info', async () => {
    const collection = uniqueName('options');
    names.push(collection);
    const { options } = parseCollectionOptions({
      WITNESS_VECTORS_ON_DISK: 'true',
      WITNESS_PAYLOAD_ON_DISK: 'true',
      WITNESS_QUANTIZATION: 'int8',
      WITNESS_HNSW_M: '8',
      WITNESS_HNSW_EF_CONSTRUCT: '64',
      WITNESS_SHARD_NUMBER: '2',
      WITNESS_REPLICATION_FACTOR: '1',
      WITNESS_WRITE_CONSISTENCY_FACTOR: '1',
    });
    await ensureCollection(qdrant, { collection, dim: 8, logger: silent, options });
    const info = await qdrant.getCollection(collection);
    const vectors = info.config.params.vectors as Record<string, { size: number; on_disk?: boolean }>;
    assert.equal(vectors.query?.on_disk, true);
    assert.equal(vectors.response?.on_disk, true);
    assert.equal(info.config.params.on_disk_payload, true);
    assert.equal(info.config.params.shard_number, 2);
    assert.equal(info.config.params.replication_factor, 1);
    assert.equal(info.config.params.write_consistency_factor, 1);
    assert.equal(info.config.hnsw_config.m, 8);
    assert.equal(info.config.hnsw_config.ef_construct, 64);
    assert.deepEqual(info.config.quantization_config, { scalar: { type: 'int8', quantile: 0.99, always_ram: true } });
    // The payload indexes are still created, and a write still lands.
    assert.equal(info.payload_schema.timestamp?.data_type, 'datetime');
    await qdrant.upsert(collection, { wait: true, points: [{ id: 1, vector: { query: [1, 0, 0, 0, 0, 0, 0, 0] }, payload: { session_id: 's' } }] });
    assert.equal((await qdrant.count(collection, { exact: true })).count, 1);
  });
});
