// Hostile HTTP requests to Qdrant (issue 13, finding 9): the embedded engine
// (local/qdrant/server.py) and, where present, the real server, each started
// here on its own port with an API key. Each probe is one the issue saw hold or
// hang the embedded engine: malformed Content-Length, a large body announced by
// a client without the key (or that never sends it), a body past the 32 MiB
// limit, and filters of 12,000 and ~600,000 `should` conditions sent while a
// writer keeps upserting: every one is answered (refused or bounded) at once,
// and the writer's requests keep being answered meanwhile.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { qdrantEngine } from '../../local/qdrant-engine.js';
import { loadToolchain, qdrantService, repoRoot, stackConfig, type Service } from '../../local/services.js';
import { freePort } from '../support/net.js';

const apiKey = `hostile-${randomUUID()}`;
const C = 'hostile_http';
// What "at once" means on a loaded 2-core machine; the issue saw 17 s and 21 minutes.
const ANSWER_WITHIN_MS = 5_000;
const realServer = qdrantEngine(repoRoot, { ...process.env, QDRANT_LOCAL: '' }).kind === 'server';

/** Sends `head` (and nothing more) on a raw socket; resolves with the status line's code, or 0 if the connection ends without one. */
function rawStatus(port: number, head: string): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${ANSWER_WITHIN_MS * 2} ms to ${JSON.stringify(head.split('\r\n')[0])}`));
    }, ANSWER_WITHIN_MS * 2);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), ms: Date.now() - started });
    };
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) done();
    });
    socket.on('end', done);
    socket.on('error', done);
  });
}

function should(n: number): string {
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) parts[i] = `{"key":"session_id","match":{"value":"s-${i}"}}`;
  return `{"exact":true,"filter":{"should":[${parts.join(',')}]}}`;
}

for (const local of realServer ? [true, false] : [true]) {
  describe(`hostile requests to the ${local ? 'embedded engine' : 'real Qdrant server'}`, () => {
    let service: Service;
    let dir: string;
    let port: number;
    const call = async (method: string, path: string, body?: string) => {
      const started = Date.now();
      const res = await fetch(`http://127.0.0.1:${port}/${path}`, { method, headers: { 'content-type': 'application/json', 'api-key': apiKey }, ...(body ? { body } : {}) });
      await res.arrayBuffer();
      return { status: res.status, ms: Date.now() - started };
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'qdrant-hostile-'));
      port = await freePort();
      const cfg = stackConfig({ ...process.env, QDRANT_PORT: String(port), QDRANT_GRPC_PORT: String(await freePort()), WITNESSLOG_RUN_DIR: dir });
      service = qdrantService(cfg, loadToolchain(), { QDRANT_API_KEY: apiKey, QDRANT_LOCAL: local ? '1' : '0' });
      await service.start();
      assert.equal((await call('PUT', `collections/${C}`, JSON.stringify({ vectors: { size: 4, distance: 'Cosine' } }))).status, 200);
    });

    after(async () => {
      await service?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a malformed or negative Content-Length is answered 400', async () => {
      for (const value of ['abc', '-5', '12, 13']) {
        const { status } = await rawStatus(port, `POST /collections/${C}/points/count HTTP/1.1\r\nHost: x\r\napi-key: ${apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${value}\r\n\r\n`);
        assert.equal(status, 400, `Content-Length: ${value}`);
      }
    });

    test('without the API key, a 40 MB body that never comes is answered 401 at once', async () => {
      const { status, ms } = await rawStatus(port, `POST /collections/${C}/points/count HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40000000\r\n\r\n`);
      assert.equal(status, 401);
      assert.ok(ms < ANSWER_WITHIN_MS, `answered after ${ms} ms`);
    });

    test('a body past 32 MiB is refused before it is read', async () => {
      const { status, ms } = await rawStatus(port, `POST /collections/${C}/points/count HTTP/1.1\r\nHost: x\r\napi-key: ${apiKey}\r\nContent-Type: application/json\r\nContent-Length: 52000000\r\n\r\n`);
      assert.ok(status === 400 || status === 413, `status ${status}`);
      assert.ok(ms < ANSWER_WITHIN_MS, `answered after ${ms} ms`);
    });

    test('filters of 12,000 and ~600,000 conditions do not hold a concurrent writer', async (t) => {
      const heavy = [should(12_000), should(600_000)];
      let writes = 0;
      let slowest = 0;
      let stop = false;
      const writer = (async () => {
        while (!stop) {
          const id = randomUUID();
          const { status, ms } = await call('PUT', `collections/${C}/points?wait=true`, JSON.stringify({ points: [{ id, vector: [1, 0, 0, 0], payload: { session_id: 's' } }] }));
          assert.equal(status, 200);
          writes += 1;
          slowest = Math.max(slowest, ms);
        }
      })();
      const answers = [];
      for (const body of heavy) answers.push(await call('POST', `collections/${C}/points/count`, body));
      stop = true;
      await writer;
      t.diagnostic(`heavy filters (${heavy.map((b) => `${(b.length / 1e6).toFixed(1)} MB`).join(', ')}): ${answers.map((a) => `${a.status} in ${a.ms} ms`).join(', ')}; ${writes} writes meanwhile, slowest ${slowest} ms`);
      for (const a of answers) {
        assert.ok(a.status === 200 || a.status === 400, `status ${a.status}`);
        // The real server's time is its own (reported above); the embedded engine's is bounded by its cap.
        if (local) assert.ok(a.ms < ANSWER_WITHIN_MS, `a heavy filter took ${a.ms} ms`);
      }
      if (local) assert.deepEqual(answers.map((a) => a.status), [400, 400], 'the embedded engine refuses filters past its cap');
      // The real server parses a 30 MB body too (2.7 s seen for a write beside it on the loaded machine): a wider bound there.
      const bound = local ? ANSWER_WITHIN_MS : ANSWER_WITHIN_MS * 2;
      assert.ok(writes > 0 && slowest < bound, `the writer's slowest request took ${slowest} ms`);
    });
  });
}
