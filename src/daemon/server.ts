// The --metrics-addr HTTP server: /metrics, /healthz, /readyz. Started only
// when the flag is given, on exactly the address given.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../errors.js';
import { parseIP } from '../model/ip.js';
import type { Verdict } from './health.js';

export interface ListenAddr {
  host: string;
  port: number;
}

/** host:port or [v6]:port. The host is required: listening everywhere must be asked for (0.0.0.0:9465). */
export function parseListenAddr(s: string): ListenAddr {
  const m = /^\[([^\]]+)\]:([0-9]{1,5})$/.exec(s) ?? /^([^:[\]]+):([0-9]{1,5})$/.exec(s);
  if (!m) {
    throw new UsageError(`--metrics-addr ${s}: expected HOST:PORT, e.g. 127.0.0.1:9465 or [::1]:9465`,
      s.startsWith(':') ? 'name the address to listen on; 0.0.0.0:PORT listens on every interface' : undefined);
  }
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`--metrics-addr ${s}: port ${port} is out of range`);
  const host = m[1];
  if (!parseIP(host) && host !== 'localhost') throw new UsageError(`--metrics-addr ${s}: ${host} is not an IP address`);
  return { host, port };
}

export interface Endpoints {
  metrics(): Promise<{ contentType: string; body: string }>;
  health(): Verdict;
  ready(): Verdict;
  /** The overlay probes' per-peer view (JSON); absent when probing is off. */
  peers?(): unknown;
}

export async function startServer(addr: ListenAddr, ep: Endpoints): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/metrics') {
      ep.metrics().then((m) => send(200, m.contentType, m.body), (e) => send(500, 'text/plain', `error: ${(e as Error).message}\n`));
    } else if (path === '/healthz' || path === '/readyz') {
      const v = path === '/healthz' ? ep.health() : ep.ready();
      send(v.ok ? 200 : 503, 'text/plain; charset=utf-8', v.body);
    } else if (path === '/peers') {
      send(200, 'application/json', JSON.stringify(ep.peers?.() ?? { version: 1, probeIntervalMs: 0, peers: [] }) + '\n');
    } else {
      send(404, 'text/plain', 'not found: try /metrics, /healthz, /readyz or /peers\n');
    }
  });
  // A scraper holding a connection must not delay shutdown.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EADDRNOTAVAIL' ? 'not an address of this host' : e.message;
      reject(new UsageError(`--metrics-addr ${addr.host}:${addr.port}: cannot listen: ${why}`));
    });
    server.listen(addr.port, addr.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return { server, address: a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}` };
}

export function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
