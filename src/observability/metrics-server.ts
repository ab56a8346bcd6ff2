// The operator's HTTP window: /metrics (Prometheus text), /healthz (the process answers)
// and /readyz (the backends kubelet cannot do without are up). Everything else is 404.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BackendPool } from '../backends/pool.js';

export interface Readiness {
  ready: boolean;
  /** One line per reason it is not ready (or "ready"). */
  detail: string[];
}

/**
 * Ready while the default backend and every backend not marked optional answer. Before
 * the proxy serves its socket, not ready either.
 */
export function readinessOf(pool: BackendPool | undefined, serving: boolean): Readiness {
  if (!pool || !serving) return { ready: false, detail: ['cri-mux is starting: the CRI socket is not served yet'] };
  const missing = pool.all
    .filter((b) => b.config.default || !b.config.optional)
    .filter((b) => b.health !== 'up')
    .map((b) => {
      const role = b.config.default ? 'default' : 'non-optional';
      const since = new Date(b.since).toISOString();
      return `backend ${b.name} (${role}) is ${b.health === 'down' ? 'down' : 'not yet probed'} since ${since}${b.lastError ? `: ${b.lastError}` : ''}`;
    });
  return missing.length === 0 ? { ready: true, detail: ['ready'] } : { ready: false, detail: missing };
}

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port (tests); `address` tells which. */
  port: number;
  registry: Registry;
  readiness(): Readiness;
  log: Logger;
}

export interface MetricsServer {
  readonly address: { host: string; port: number };
  /** http://host:port, IPv6 hosts bracketed. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    void respond(opts, req, res).catch((err: unknown) => {
      opts.log.error({ err, path: req.url }, 'metrics endpoint failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    });
  });
  // Scrapes are short; do not let an idle keep-alive connection hold shutdown up.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => reject(new Error(`metrics endpoint cannot listen on ${opts.host}:${opts.port} (metrics.address): ${err.message}`));
    server.once('error', fail);
    server.listen(opts.port, opts.host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.address;
  return {
    address: { host, port: bound.port },
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function respond(opts: MetricsServerOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const text = (status: number, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') return text(404, 'not found: try /metrics, /healthz or /readyz\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed\n', { allow: 'GET, HEAD' });
  switch (path) {
    case '/metrics': {
      const body = await opts.registry.metrics();
      res.writeHead(200, { 'content-type': opts.registry.contentType, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    case '/healthz':
      return text(200, 'ok\n');
    case '/readyz': {
      const r = opts.readiness();
      return text(r.ready ? 200 : 503, r.detail.join('\n') + '\n');
    }
  }
}
