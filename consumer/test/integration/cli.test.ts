// The `witness` command as a user runs it: a child process against a log written
// by the real pipeline, checked for exit codes, parseable --json output that
// agrees with what the test produced, retention and replay.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { WitnessEntry } from '@witnesslog/schemas';
import { assertVectorClose, brokers, countPoints, disconnectShared, dropCollection, freePort, qdrantUrl, readPoints, uniqueName } from '../../../test/support/pipeline.js';
import { countByKind } from '../../../test/support/topic.js';
import { DIM, OLD, cosine, fixtureTraceId, witnessLogFixture, type WitnessLogFixture } from '../../../test/support/query-fixture.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'witness-cli-'));
let log: WitnessLogFixture;
let entries: WitnessEntry[];
const extraCollections: string[] = [];

before(async () => {
  log = await witnessLogFixture('cli');
  entries = log.entries;
});

after(async () => {
  for (const c of extraCollections) await dropCollection(c);
  await log?.cleanup();
  await disconnectShared();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// An undefined value removes the variable from the child's environment.
function witness(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=witnesslog-src', '--import', 'tsx', CLI, ...args],
      {
        env: {
          ...process.env,
          WITNESS_QDRANT_URL: qdrantUrl,
          WITNESS_COLLECTION: log.names.collection,
          WITNESS_KAFKA_BROKERS: brokers.join(','),
          WITNESS_TOPIC: log.names.topic,
          WITNESS_DLQ_TOPIC: log.names.dlqTopic,
          WITNESS_GROUP_ID: log.names.groupId,
          WITNESS_EMBEDDING_DIM: String(DIM),
          LOG_LEVEL: 'silent',
          ...env,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

function parsed<T>(run: Run): T {
  assert.equal(run.code, 0, `exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

const ids = (list: ReadonlyArray<{ request_id: string }>) => list.map((e) => e.request_id).sort();

describe('reading', () => {
  test('get: the entry as JSON (exit 0), an unknown id (exit 1), a malformed one (exit 2)', async () => {
    const produced = entries[3]!;
    const got = parsed<Record<string, unknown>>(await witness(['get', produced.request_id, '--json']));
    assert.equal(got.request_id, produced.request_id);
    assert.equal(got.session_id, produced.session_id);
    assert.deepEqual(got.error, produced.error);
    assertVectorClose(got.query_embedding as number[], produced.query_embedding, 'query_embedding');
    const table = await witness(['get', produced.request_id]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(`request_id\\s+${produced.request_id}`));
    assert.equal((await witness(['get', '00000000-0000-4000-8000-000000000000'])).code, 1);
    const bad = await witness(['get', 'nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /request id "nope": expected a UUID/);
  });

  test('get --json returns every v2 field; get --trace the entries of one trace, oldest first; --service and --producer filter', async () => {
    const produced = entries[OLD + 1]!;
    const got = parsed<WitnessEntry>(await witness(['get', produced.request_id, '--json']));
    const fields = ['request_id', 'session_id', 'query_embedding', 'routing_decision', 'model_used', 'quality_score', 'latency', 'context_doc_ids', 'response_embedding', 'timestamp', 'error', 'quality_metrics', 'tags', 'producer', 'trace', 'usage'];
    assert.deepEqual(Object.keys(got).sort(), [...fields].sort());
    assert.deepEqual([got.trace, got.usage], [produced.trace, produced.usage]);
    const producer = got.producer!;
    assert.match(producer.id, /^[0-9a-f-]{36}$/);
    assert.ok(Number.isInteger(producer.seq) && producer.seq >= 0 && producer.seq < entries.length);
    assert.ok(producer.service.length > 0 && producer.host.length > 0);

    const traceId = fixtureTraceId(5);
    const trace = parsed<WitnessEntry[]>(await witness(['get', '--trace', traceId.toUpperCase(), '--json']));
    const want = entries.filter((e) => e.trace?.trace_id === traceId);
    assert.ok(want.length >= 5);
    assert.deepEqual(ids(trace), ids(want));
    for (let i = 1; i < trace.length; i++) assert.ok(trace[i]!.timestamp >= trace[i - 1]!.timestamp, 'oldest first');
    for (const e of trace) {
      assert.deepEqual(Object.keys(e).sort(), [...fields].sort());
      assert.equal(e.producer!.id, producer.id, 'one SDK instance wrote the fixture');
    }
    const table = await witness(['get', '--trace', traceId]);
    assert.equal(table.code, 0);
    assert.equal(table.stdout.trim().split('\n').length, 1 + want.length, 'a header and one row per entry');
    assert.equal((await witness(['get', '--trace', fixtureTraceId(999)])).code, 1);
    const zero = await witness(['get', '--trace', '0'.repeat(32)]);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /traceId "0{32}": expected 32 hex digits/);
    assert.equal((await witness(['get', produced.request_id, '--trace', traceId])).code, 2);

    const byService = parsed<{ entries: WitnessEntry[] }>(await witness(['list', '--service', producer.service, '--limit', '1000', '--json']));
    assert.deepEqual(ids(byService.entries), ids(entries));
    assert.equal((await witness(['list', '--service', 'no-such-service'])).code, 1);
    const byProducer = parsed<{ entries: WitnessEntry[] }>(await witness(['list', '--producer', producer.id, '--trace', traceId, '--limit', '1000', '--json']));
    assert.deepEqual(ids(byProducer.entries), ids(want));
    const badProducer = await witness(['list', '--producer', 'instance-7']);
    assert.equal(badProducer.code, 2);
    assert.match(badProducer.stderr, /producerId "instance-7": expected a UUID/);
  });

  test('list: filter flags select exactly the matching entries; nothing matching exits 1', async () => {
    const since = Date.now() - 3_600_000;
    const page = parsed<{ entries: WitnessEntry[]; nextCursor: string | null }>(
      await witness(['list', '--model', 'small', '--model', 'tiny', '--errors', '--since', '1h', '--limit', '1000', '--json']),
    );
    const want = entries.filter((e) => (e.model_used === 'small' || e.model_used === 'tiny') && e.error !== null && Date.parse(e.timestamp) >= since);
    assert.ok(want.length > 0);
    assert.deepEqual(ids(page.entries), ids(want));
    assert.equal(page.nextCursor, null);
    const tagged = parsed<{ entries: WitnessEntry[] }>(await witness(['list', '--tag', 'even', '--tag', 'three', '--all-tags', '--limit', '1000', '--json']));
    assert.deepEqual(ids(tagged.entries), ids(entries.filter((e) => e.tags.includes('even') && e.tags.includes('three'))));
    const table = await witness(['list', '--limit', '5']);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^request_id\s+timestamp\s+session/);
    assert.match(table.stdout, /more: witness list --cursor \S+/);
    assert.equal((await witness(['list', '--session', 'nobody'])).code, 1);
  });

  test('stats: counts equal those computed from what was produced', async () => {
    const stats = parsed<{ total: number; success: number; error: number; byModel: Record<string, number>; byErrorCode: Record<string, number> }>(
      await witness(['stats', '--session', 'session-1', '--json']),
    );
    const mine = entries.filter((e) => e.session_id === 'session-1');
    const byModel: Record<string, number> = {};
    const byErrorCode: Record<string, number> = {};
    for (const e of mine) {
      byModel[e.model_used] = (byModel[e.model_used] ?? 0) + 1;
      if (e.error) byErrorCode[e.error.code] = (byErrorCode[e.error.code] ?? 0) + 1;
    }
    assert.equal(stats.total, mine.length);
    assert.equal(stats.error, mine.filter((e) => e.error !== null).length);
    assert.equal(stats.success, mine.length - stats.error);
    assert.deepEqual(stats.byModel, byModel);
    assert.deepEqual(stats.byErrorCode, byErrorCode);
    const table = await witness(['stats']);
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(`total\\s+success\\s+error\\s+success_rate\\n\\s*${entries.length}\\s`));
  });

  test('search --like: the nearest other entries in cosine order; --vector-file; wrong dimension exits 2', async () => {
    const origin = entries[11]!;
    const hits = parsed<Array<{ score: number; entry: WitnessEntry }>>(await witness(['search', '--like', origin.request_id, '--limit', '5', '--json']));
    const expected = entries
      .filter((e) => e !== origin)
      .map((e) => ({ id: e.request_id, score: cosine(origin.query_embedding, e.query_embedding) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 5);
    assert.deepEqual(hits.map((h) => h.entry.request_id), expected.map((e) => e.id));

    const file = join(dir, 'vector.json');
    writeFileSync(file, JSON.stringify(Array.from(origin.query_embedding)));
    const fromFile = parsed<Array<{ score: number; entry: WitnessEntry }>>(await witness(['search', '--vector-file', file, '--limit', '1', '--json']));
    assert.equal(fromFile[0]!.entry.request_id, origin.request_id);

    writeFileSync(file, '[1, 2, 3]');
    const wrong = await witness(['search', '--vector-file', file]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, new RegExp(`dimension ${DIM}, the search vector has 3`));
    assert.equal((await witness(['search', '--like', '00000000-0000-4000-8000-000000000000'])).code, 1);
  });
});

describe('usage and backend errors', () => {
  test('bad usage exits 2 with a message naming the flag and value', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['list', '--since', '1x'], /--since 1x: expected a duration like 30m, 1h, 7d/],
      [['list', '--bogus'], /Unknown option '--bogus'/],
      [['stats', '--like', 'x'], /--like is not an option of "witness stats"/],
      [[], /a command is required/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['search'], /exactly one of --like <request-id> or --vector-file/],
      [['prune', '--older-than', 'soon'], /--older-than soon: expected a duration/],
      [['list', '--min-quality', '2'], /--min-quality 2: expected a number from 0 to 1/],
      [['stats', '--collection', 'no_such_collection'], /collection "no_such_collection" does not exist/],
    ];
    for (const [args, message] of cases) {
      const run = await witness(args);
      assert.equal(run.code, 2, `${args.join(' ')}: exit ${run.code}`);
      assert.match(run.stderr, message, args.join(' '));
    }
  });

  test("without WITNESS_QDRANT_URL it finds the local stack's Qdrant by QDRANT_PORT, as the stack does", async () => {
    const unset = { WITNESS_QDRANT_URL: undefined, QDRANT_URL: undefined };
    const run = await witness(['stats', '--json'], { ...unset, QDRANT_PORT: new URL(qdrantUrl).port });
    assert.equal(parsed<{ total: number }>(run).total, entries.length);
    assert.equal(run.stderr, '');
    // And it is QDRANT_PORT that decides, whatever port the stack is on: nothing listens on this one.
    const free = await freePort();
    const missed = await witness(['stats'], { ...unset, QDRANT_PORT: String(free) });
    assert.equal(missed.code, 3, missed.stderr);
    assert.ok(missed.stderr.includes(`http://127.0.0.1:${free}`), missed.stderr);
  });

  test('the old QDRANT_URL still works, with one warning naming WITNESS_QDRANT_URL', async () => {
    const run = await witness(['stats', '--json'], { WITNESS_QDRANT_URL: undefined, QDRANT_URL: qdrantUrl, QDRANT_PORT: undefined });
    assert.equal(parsed<{ total: number }>(run).total, entries.length);
    assert.equal(run.stderr, 'witness: warning: QDRANT_URL is deprecated: rename it to WITNESS_QDRANT_URL\n');
  });

  test('an unreachable Qdrant exits 3', async () => {
    const port = await freePort();
    for (const args of [['stats'], ['list'], ['get', entries[0]!.request_id]]) {
      const run = await witness(args, { WITNESS_QDRANT_URL: `http://127.0.0.1:${port}` });
      assert.equal(run.code, 3, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /Qdrant unreachable/);
    }
  });
});

describe('replay and prune', () => {
  test('replay fills a new collection with the same points', async () => {
    const target = uniqueName('cli_replay').replace(/-/g, '_');
    extraCollections.push(target);
    const result = parsed<{ points: number; messages: number; collection: string }>(await witness(['replay', '--from-beginning', '--collection', target, '--json']));
    assert.equal(result.collection, target);
    // The topic also holds the fixture SDK's checkpoints (issue 26): replayed as messages, not as points.
    const { checkpoints } = await countByKind({ brokers }, log.names.topic);
    assert.equal(result.messages, entries.length + checkpoints);
    assert.equal(result.points, entries.length);
    const source = new Map((await readPoints(log.names.collection)).map((p) => [String(p.id), p]));
    const copy = await readPoints(target);
    assert.equal(copy.length, source.size);
    for (const point of copy) {
      const original = source.get(String(point.id));
      assert.ok(original, `replayed point ${String(point.id)} is not in the source collection`);
      assert.deepEqual(point.payload, original.payload);
      const [v, w] = [point.vector as Record<string, number[]>, original.vector as Record<string, number[]>];
      assert.deepEqual(Object.keys(v).sort(), Object.keys(w).sort());
      for (const name of Object.keys(w)) assertVectorClose(v[name]!, w[name]!, name);
    }
    const usage = await witness(['replay', '--collection', target]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--from-beginning/);
  });

  test('prune --older-than deletes exactly the old entries and prints how many', async () => {
    const dry = parsed<{ wouldDelete: number }>(await witness(['prune', '--older-than', '1d', '--dry-run', '--json']));
    assert.equal(dry.wouldDelete, OLD);
    assert.equal(await countPoints(log.names.collection), entries.length);
    const run = await witness(['prune', '--older-than', '1d']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^deleted ${OLD} entries older than `));
    const left = new Set((await readPoints(log.names.collection)).map((p) => String(p.id)));
    const cutoff = Date.now() - 86_400_000;
    assert.deepEqual([...left].sort(), ids(entries.filter((e) => Date.parse(e.timestamp) >= cutoff)));
  });
});
