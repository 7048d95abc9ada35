// The kube: source's requests to the API server over node:http(s): JSON
// requests and the Node watch stream, with the credentials of kube-auth.ts.
// Errors carry what kube-config.ts reads from them: `statusCode` and the
// Status `body` for an HTTP error, the system `code` (ECONNREFUSED…) or an
// AbortError/TimeoutError otherwise; the source turns them into SourceErrors.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { KubeCredentials } from './kube-auth.js';
import { LineSplitter, parseWatchLine } from './kube-wire.js';

/** A list page of realistic Nodes is a few MB; anything far larger is not an answer to what we ask. */
const MAX_BODY_CHARS = 256 * 1024 * 1024;

export class KubeHttpError extends Error {
  constructor(readonly statusCode: number, readonly body: string) {
    super(`HTTP ${statusCode}`);
    this.name = 'KubeHttpError';
  }
}

export interface JsonRequest {
  method?: 'GET' | 'PATCH';
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export class KubeHttp {
  private readonly server: URL;
  // One keep-alive pool; Node keys its sockets by the TLS options given per request.
  private readonly agent: HttpAgent;

  constructor(private readonly creds: KubeCredentials) {
    const cluster = creds.getCurrentCluster();
    if (!cluster) throw new Error('no current cluster');
    this.server = new URL(cluster.server);
    this.agent = this.server.protocol === 'http:' ? new HttpAgent({ keepAlive: true }) : new HttpsAgent({ keepAlive: true });
  }

  private url(path: string, query: Record<string, string | undefined> = {}): URL {
    const u = new URL(this.server.href.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
    return u;
  }

  private async open(method: string, url: URL, headers: Record<string, string>, signal: AbortSignal | undefined, body?: string): Promise<IncomingMessage> {
    const auth = await this.creds.requestOptions();
    const agent = (await this.creds.proxyAgent(auth)) ?? this.agent;
    const options: RequestOptions & Record<string, unknown> = {
      method,
      agent,
      signal,
      headers: { Accept: 'application/json', ...auth.headers, ...headers },
      ...(auth.auth ? { auth: auth.auth } : {}),
      ...(url.protocol === 'https:' ? {
        ca: auth.ca, cert: auth.cert, key: auth.key, servername: auth.servername,
        ...(auth.rejectUnauthorized !== undefined ? { rejectUnauthorized: auth.rejectUnauthorized } : {}),
      } : {}),
    };
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, resolve);
      req.on('error', reject);
      // As client libraries do for watches: a dead peer is noticed without waiting for the watchdog.
      req.on('socket', (s) => s.setKeepAlive(true, 30_000));
      req.end(body);
    });
  }

  /** Closes the idle keep-alive connections (open watches end through their own abort). */
  close(): void {
    this.agent.destroy();
  }

  /** One request; resolves with the parsed JSON body of a 2xx answer, rejects with KubeHttpError otherwise. */
  async json(path: string, r: JsonRequest = {}): Promise<unknown> {
    const body = r.body === undefined ? undefined : JSON.stringify(r.body);
    const headers: Record<string, string> = {};
    if (body !== undefined) {
      headers['Content-Type'] = r.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const res = await this.open(r.method ?? 'GET', this.url(path, r.query), headers, r.signal, body);
    const text = await readBody(res);
    const code = res.statusCode ?? 0;
    if (code < 200 || code > 299) throw new KubeHttpError(code, text);
    return JSON.parse(text);
  }

  /**
   * A watch: onEvent for each event line, done once when the stream ends
   * (null), fails (the error) or is aborted. Same shape as the client
   * library's Watch.watch, which the reflector was written against.
   */
  watch(path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (type: string, obj: unknown) => void, done: (err: unknown) => void): Promise<AbortController> {
    const controller = new AbortController();
    let finished = false;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      controller.abort();
      done(err);
    };
    const q: Record<string, string> = { watch: 'true' };
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q[k] = String(v);
    this.open('GET', this.url(path, q), {}, controller.signal).then(async (res) => {
      if (res.statusCode !== 200) {
        finish(new KubeHttpError(res.statusCode ?? 0, await readBody(res).catch(() => '')));
        return;
      }
      const lines = new LineSplitter();
      const deliver = (ls: string[]) => {
        for (const l of ls) {
          if (finished) return;
          const ev = parseWatchLine(l);
          if (ev) onEvent(ev.type, ev.object);
        }
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => deliver(lines.push(chunk)));
      res.on('end', () => {
        deliver(lines.end());
        finish(null);
      });
      res.on('error', finish);
      res.on('close', () => finish(null));
    }, (e) => finish(controller.signal.aborted ? null : e));
    return Promise.resolve(controller);
  }
}

/**
 * The answer as a string, built from decoded chunks rather than one
 * Buffer.concat: a list page is megabytes, and a large malloc'd buffer freed
 * after parsing stays in the process's RSS (glibc keeps it), where V8's own
 * strings are given back when collected.
 */
function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      if (text.length + c.length > MAX_BODY_CHARS) {
        res.destroy(new Error(`answer larger than ${MAX_BODY_CHARS} characters`));
        return;
      }
      text += c;
    });
    res.on('end', () => resolve(text));
    res.on('error', reject);
    res.on('aborted', () => reject(Object.assign(new Error('connection closed mid-answer'), { code: 'ECONNRESET' })));
  });
}
