// A sink that speaks just enough of Qdrant's REST API for the consumer (collection
// info, exists, upsert, retrieve) and does nothing with a write but parse it. Run against
// it, the consumer's rate is bound by Kafka and our own code, not by the local
// Qdrant server, whose Python storage is far slower than the real Qdrant's.
// It runs in its own process, so its parsing does not count as the consumer's CPU.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { PAYLOAD_INDEXES, vectorsConfig } from '@witnesslog/consumer';

export interface ParseOnlyQdrant {
  url: string;
  /** Points and body bytes parsed so far. */
  stats(): Promise<{ points: number; bytes: number; requests: number }>;
  /** When (Date.now()) each point id arrived since the last call; then forgets them. */
  arrivals(): Promise<Record<string, number>>;
  close(): void;
}

function serve(dim: number): void {
  let points = 0;
  let bytes = 0;
  let requests = 0;
  let arrivals: Record<string, number> = {};
  const collectionInfo = {
    status: 'green',
    config: { params: { vectors: vectorsConfig(dim) } },
    payload_schema: Object.fromEntries(PAYLOAD_INDEXES.map(({ field, type }) => [field, { data_type: type, points: 0 }])),
  };
  const reply = (res: import('node:http').ServerResponse, status: number, result: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status < 400 ? { result, status: 'ok', time: 0 } : { status: { error: String(result) }, time: 0 }));
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const parts = path.split('/').filter(Boolean);
      if (req.method === 'GET' && path === '/') return reply(res, 200, { title: 'parse-only sink', version: '1.15.0' });
      if (req.method === 'GET' && path === '/stats') return res.end(JSON.stringify({ points, bytes, requests }));
      if (req.method === 'GET' && path === '/arrivals') {
        res.end(JSON.stringify(arrivals));
        arrivals = {};
        return;
      }
      if (parts[0] !== 'collections' || parts.length < 2) return reply(res, 404, `no route ${req.method} ${path}`);
      if (req.method === 'GET' && parts.length === 2) return reply(res, 200, collectionInfo);
      if (req.method === 'GET' && parts[2] === 'exists') return reply(res, 200, { exists: true });
      if (req.method === 'PUT' && parts[2] === 'points' && parts.length === 3) {
        const body = Buffer.concat(chunks);
        const parsed = JSON.parse(body.toString('utf8')) as { points: Array<{ id: string }> };
        const now = Date.now();
        for (const point of parsed.points) arrivals[point.id] = now;
        points += parsed.points.length;
        bytes += body.length;
        requests += 1;
        return reply(res, 200, { operation_id: requests, status: 'completed' });
      }
      // The consumer's read-back of digests after an insert-only write (append-only rule): parsed, nothing stored to find.
      if (req.method === 'POST' && parts[2] === 'points' && parts.length === 3) {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
        requests += 1;
        return reply(res, 200, []);
      }
      return reply(res, 404, `no route ${req.method} ${path}`);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    process.stdout.write(`${port}\n`);
  });
}

/** Starts the sink in a child process; resolves once it listens. */
export async function startParseOnlyQdrant(dim: number): Promise<ParseOnlyQdrant> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), String(dim)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`parse-only sink exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    stats: async () => (await (await fetch(`${url}/stats`)).json()) as { points: number; bytes: number; requests: number },
    arrivals: async () => (await (await fetch(`${url}/arrivals`)).json()) as Record<string, number>,
    close: () => child.kill(),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) serve(Number(process.argv[2] ?? '768'));
