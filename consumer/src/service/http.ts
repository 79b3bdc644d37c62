// The service's HTTP endpoints on the metrics port, with node:http alone:
//   /metrics  Prometheus text from the host's registry
//   /healthz  200 while the process runs (liveness)
//   /readyz   200 once joined to the group with Qdrant reachable and dead letters
//             being written; 503 otherwise,
//             and while draining, so an orchestrator stops counting on an instance
//             that is shutting down.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { WitnessConsumer } from '../ingest/types.js';

export interface HttpServer {
  server: Server;
  /** The port actually bound (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer({
  host,
  port,
  registry,
  consumer,
  logger,
}: {
  host: string;
  port: number;
  registry: Registry;
  consumer: Pick<WitnessConsumer, 'ready' | 'status'>;
  logger: Logger;
}): Promise<HttpServer> {
  const log = logger.child({ component: 'http' });
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => send(200, text, registry.contentType),
        (err: unknown) => {
          log.error({ err }, 'collecting metrics failed');
          send(500, 'metrics collection failed\n');
        },
      );
      return;
    }
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') {
      consumer.ready().then(
        (ready) => send(ready ? 200 : 503, `${JSON.stringify({ ready, ...consumer.status() })}\n`, 'application/json'),
        () => send(503, '{"ready":false}\n', 'application/json'),
      );
      return;
    }
    send(404, 'not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  log.info({ host, port: bound }, 'serving /metrics, /healthz, /readyz');
  return {
    server,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
