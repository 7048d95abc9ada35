// A small stand-in for kube-apiserver, for tests: no apiserver can be
// installed on the test machines. It serves the handful of endpoints ovlnet
// uses, in the JSON shapes of the Kubernetes API (v1 NodeList, Node,
// ConfigMap, Status, watch events), on 127.0.0.1 with a random port:
//
//   GET   /api/v1/nodes                      list (NodeList; ?limit= and ?continue= page it), or a watch stream with ?watch=true
//   GET   /api/v1/nodes/NAME                 one Node
//   PATCH /api/v1/nodes/NAME[/status]        merge of metadata.annotations, and of status.conditions by type
//                                            (strategic merge); body and content type recorded
//   GET   /api/v1/namespaces/NS/configmaps/NAME
//   GET   /api/v1/namespaces/NS/pods/NAME     one Pod (name, namespace, spec.nodeName)
//
// Every request needs `Authorization: Bearer <token>` (401 otherwise).
// Watches replay the retained history after the given resourceVersion, then
// stream live events; `expireHistory()` makes older resourceVersions "too
// old", answered with an ERROR event carrying a 410 Gone Status, as the real
// server does after etcd compaction.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTLSServer } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { mergeNodePatch, nodeObject, type NodeSeed, type Obj } from './kube-node-objects.js';

export { FLANNEL_PREFIX, flannelAnnotations, netConfJSON, type NodeSeed } from './kube-node-objects.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization?: string;
  contentType?: string;
  body: string;
}

export interface RecordedPatch {
  name: string;
  path: string;
  contentType?: string;
  body: unknown;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEvent {
  rv: number;
  type: EventType;
  object: Obj;
}

function status(code: number, reason: string, message: string, details?: Obj): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

export class FakeKube {
  readonly token: string;
  port = 0;
  requests: RecordedRequest[] = [];
  patches: RecordedPatch[] = [];
  /** Requests answered 403, as `METHOD path` (path without query), e.g. `GET /api/v1/namespaces/kube-flannel/configmaps/kube-flannel-cfg`. */
  forbidden = new Set<string>();
  /** Every answer waits this long (a slow API server). */
  delayMs = 0;
  /** Pages of Node lists (not watches) wait this long besides: a large cluster's list. */
  listDelayMs = 0;
  /** ConfigMaps by `namespace/name`. */
  configMaps = new Map<string, Obj>();
  /** Pods by `namespace/name`. */
  pods = new Map<string, Obj>();

  private server: Server;
  private sockets = new Set<Socket>();
  private nodes = new Map<string, Obj>();
  private rv = 1000;
  private history: HistoryEvent[] = [];
  /** Watches from a resourceVersion below this are too old (410 Gone). */
  private oldestWatchable = 0;
  private watchers = new Set<{ res: ServerResponse; sentRV: number }>();
  private uidCounter = 0;
  /** While set, changes are made without watch events (they happen "during" a compaction). */
  private silent = false;
  /**
   * Nodes as a real cluster serves them (~6 KB each: managedFields, images,
   * capacity, five conditions) rather than the few fields ovlnet reads: for
   * memory measurements. Set before adding nodes.
   */
  realisticNodes = false;
  /** The next this-many continue tokens are answered 410 (expired), as after etcd compaction mid-list. */
  expireContinueTokens = 0;
  /** Paged lists in progress: continue token -> the names left and the list's resourceVersion. */
  private pagedLists = new Map<string, { names: string[]; rv: number }>();

  /** Serving https:// with this key and certificate (PEM), when given. */
  readonly tls?: { key: string; cert: string };

  constructor(token = 'test-token-0123456789', tls?: { key: string; cert: string }) {
    this.token = token;
    this.tls = tls;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const list = req.method === 'GET' && /^\/api\/v1\/nodes(\?|$)/.test(req.url ?? '') && !/[?&]watch=true/.test(req.url ?? '');
      const delay = this.delayMs + (list ? this.listDelayMs : 0);
      if (delay > 0) setTimeout(() => this.handle(req, res), delay);
      else this.handle(req, res);
    };
    this.server = tls ? createTLSServer({ key: tls.key, cert: tls.cert }, handler) : createServer(handler);
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(token?: string, tls?: { key: string; cert: string }): Promise<FakeKube> {
    const k = new FakeKube(token, tls);
    await new Promise<void>((resolve, reject) => {
      k.server.once('error', reject);
      k.server.listen(0, '127.0.0.1', () => resolve());
    });
    k.port = (k.server.address() as AddressInfo).port;
    return k;
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /**
   * Writes a kubeconfig for this server (bearer token user) into dir and
   * returns its path. The server is plain http://, as `kubectl proxy` gives,
   * with no insecure-skip-tls-verify (kubectl needs none).
   */
  writeKubeconfig(dir: string, token = this.token, file = 'kubeconfig', extraClusterLines: string[] = []): string {
    const p = join(dir, file);
    writeFileSync(p, [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      '  cluster:',
      `    server: ${this.url}`,
      ...extraClusterLines.map((l) => `    ${l}`),
      'users:',
      '- name: tester',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: fake',
      '  context: { cluster: fake, user: tester }',
      'current-context: fake',
      '',
    ].join('\n'));
    return p;
  }

  setConfigMap(namespace: string, netConf: string | undefined, name = 'kube-flannel-cfg'): void {
    const data: Obj = { 'cni-conf.json': '{"name":"cbr0","cniVersion":"0.3.1","plugins":[{"type":"flannel"}]}' };
    if (netConf !== undefined) data['net-conf.json'] = netConf;
    this.configMaps.set(`${namespace}/${name}`, {
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: {
        name,
        namespace,
        uid: this.uid(),
        resourceVersion: String(++this.rv),
        creationTimestamp: '2024-05-01T10:00:00Z',
        labels: { app: 'flannel', 'k8s-app': 'flannel', tier: 'node' },
      },
      data,
    });
  }

  /** A pod as the API returns it; without nodeName it is not scheduled yet. */
  addPod(namespace: string, name: string, nodeName?: string): void {
    this.pods.set(`${namespace}/${name}`, {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name, namespace, uid: this.uid(), resourceVersion: String(++this.rv), creationTimestamp: '2024-05-01T10:00:00Z', labels: { app: 'flannel' } },
      spec: { ...(nodeName ? { nodeName } : {}), hostNetwork: true, containers: [{ name: 'kube-flannel', image: 'ovlnet' }] },
      status: { phase: nodeName ? 'Running' : 'Pending' },
    });
  }

  private uid(): string {
    const n = (++this.uidCounter).toString(16).padStart(12, '0');
    return `6f1c2a4e-0000-4000-8000-${n}`;
  }

  private makeNode(seed: NodeSeed): Obj {
    return nodeObject(seed, this.uid(), this.realisticNodes);
  }

  /** Watch event objects carry kind and apiVersion; list items do not. */
  private asObject(n: Obj): Obj {
    return { kind: 'Node', apiVersion: 'v1', ...clone(n) };
  }

  private record(type: EventType, node: Obj): void {
    if (this.silent) return;
    const ev: HistoryEvent = { rv: Number(node.metadata.resourceVersion), type, object: this.asObject(node) };
    this.history.push(ev);
    for (const w of this.watchers) this.send(w, ev);
  }

  private send(w: { res: ServerResponse; sentRV: number }, ev: HistoryEvent): void {
    if (ev.rv <= w.sentRV) return;
    w.sentRV = ev.rv;
    w.res.write(JSON.stringify({ type: ev.type, object: ev.object }) + '\n');
  }

  addNode(seed: NodeSeed): void {
    if (this.nodes.has(seed.name)) throw new Error(`fake-kube: node ${seed.name} exists`);
    const n = this.makeNode(seed);
    n.metadata.resourceVersion = String(++this.rv);
    this.nodes.set(seed.name, n);
    this.record('ADDED', n);
  }

  /** Changes a node in place (fn edits it) and emits MODIFIED. */
  modifyNode(name: string, fn: (n: Obj) => void): void {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`fake-kube: no node ${name}`);
    fn(n);
    n.metadata.resourceVersion = String(++this.rv);
    this.record('MODIFIED', n);
  }

  deleteNode(name: string): void {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`fake-kube: no node ${name}`);
    this.nodes.delete(name);
    // A DELETED event carries the last state with a new resourceVersion.
    n.metadata.resourceVersion = String(++this.rv);
    this.record('DELETED', n);
  }

  node(name: string): Obj | undefined {
    const n = this.nodes.get(name);
    return n ? clone(n) : undefined;
  }

  /**
   * Simulates etcd compaction: every resourceVersion up to now becomes too
   * old. Changes made by `during` produce no watch event: a client only sees
   * them by re-listing. With notify (default), open watches get an ERROR
   * event with a 410 Status and are closed; without, they stay open and the
   * 410 comes when the client next (re)connects with an old resourceVersion.
   */
  expireHistory(during?: () => void, opts: { notify?: boolean } = {}): void {
    this.silent = true;
    try {
      during?.();
    } finally {
      this.silent = false;
    }
    this.oldestWatchable = this.rv;
    this.history = [];
    if (opts.notify === false) return;
    for (const w of [...this.watchers]) {
      w.res.end(JSON.stringify({ type: 'ERROR', object: this.gone(w.sentRV) }) + '\n');
      this.watchers.delete(w);
    }
  }

  /** Ends every open watch cleanly, as the server does when timeoutSeconds is reached. */
  closeWatches(): void {
    for (const w of [...this.watchers]) {
      w.res.end();
      this.watchers.delete(w);
    }
  }

  /** The lists (not watches; a paged list counts once) served so far. */
  get listCount(): number {
    return this.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/nodes' && r.query.get('watch') !== 'true' && !r.query.get('continue')).length;
  }

  /** The page requests of lists (every page counts). */
  get listPageCount(): number {
    return this.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/nodes' && r.query.get('watch') !== 'true').length;
  }

  /** The watch requests served so far. */
  get watchRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/nodes' && r.query.get('watch') === 'true');
  }

  private gone(rv: number): Obj {
    return status(410, 'Expired', `too old resource version: ${rv} (${this.oldestWatchable + 1})`);
  }

  /** Number of watch streams open now. */
  get openWatches(): number {
    return this.watchers.size;
  }

  /** Resolves when at least n watch streams are open (or rejects after timeoutMs). */
  async waitForWatches(n = 1, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.watchers.size < n) {
      if (Date.now() > end) throw new Error(`fake-kube: ${this.watchers.size} watches open, expected ${n}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  // ---- HTTP -----------------------------------------------------------------

  private json(res: ServerResponse, code: number, body: Obj): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      this.requests.push(rec);
      try {
        this.route(rec, res);
      } catch (e) {
        this.json(res, 500, status(500, 'InternalError', `fake-kube: ${(e as Error).message}`));
      }
    });
  }

  private route(r: RecordedRequest, res: ServerResponse): void {
    if (r.authorization !== `Bearer ${this.token}`) {
      this.json(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const user = 'system:serviceaccount:kube-flannel:ovlnet';
    let m: RegExpMatchArray | null;
    if (this.forbidden.has(`${r.method} ${r.path}`)) {
      if ((m = r.path.match(/^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/))) {
        this.json(res, 403, status(403, 'Forbidden',
          `configmaps "${m[2]}" is forbidden: User "${user}" cannot get resource "configmaps" in API group "" in the namespace "${m[1]}"`,
          { name: m[2], kind: 'configmaps' }));
      } else if (r.path === '/api/v1/nodes') {
        const verb = r.query.get('watch') === 'true' ? 'watch' : 'list';
        this.json(res, 403, status(403, 'Forbidden', `nodes is forbidden: User "${user}" cannot ${verb} resource "nodes" in API group "" at the cluster scope`, { kind: 'nodes' }));
      } else {
        this.json(res, 403, status(403, 'Forbidden', `forbidden: User "${user}" cannot ${r.method.toLowerCase()} ${r.path}`));
      }
      return;
    }
    if (r.method === 'GET' && r.path === '/api/v1/nodes') {
      if (r.query.get('watch') === 'true' || r.query.get('watch') === '1') this.watch(r, res);
      else this.list(r, res);
      return;
    }
    if ((m = r.path.match(/^\/api\/v1\/nodes\/([^/]+)(\/status)?$/))) {
      const name = decodeURIComponent(m[1]);
      const n = this.nodes.get(name);
      if (!n) {
        this.json(res, 404, status(404, 'NotFound', `nodes "${name}" not found`, { name, kind: 'nodes' }));
        return;
      }
      if (r.method === 'GET') {
        this.json(res, 200, this.asObject(n));
        return;
      }
      if (r.method === 'PATCH') {
        this.patch(name, r, res);
        return;
      }
    }
    if ((m = r.path.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/)) && r.method === 'GET') {
      const pod = this.pods.get(`${m[1]}/${m[2]}`);
      if (!pod) this.json(res, 404, status(404, 'NotFound', `pods "${m[2]}" not found`, { name: m[2], kind: 'pods' }));
      else this.json(res, 200, pod);
      return;
    }
    if ((m = r.path.match(/^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/)) && r.method === 'GET') {
      const cm = this.configMaps.get(`${m[1]}/${m[2]}`);
      if (!cm) this.json(res, 404, status(404, 'NotFound', `configmaps "${m[2]}" not found`, { name: m[2], kind: 'configmaps' }));
      else this.json(res, 200, cm);
      return;
    }
    this.json(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }

  /**
   * A NodeList. With ?limit=N, N items and a continue token; the pages after
   * the first serve the first page's snapshot of names (as the real server
   * serves one consistent snapshot) and carry its resourceVersion.
   */
  private list(r: RecordedRequest, res: ServerResponse): void {
    const token = r.query.get('continue');
    let names: string[];
    let rv: number;
    if (token) {
      const paged = this.pagedLists.get(token);
      this.pagedLists.delete(token);
      const expire = this.expireContinueTokens > 0;
      if (expire) this.expireContinueTokens--;
      if (!paged || expire) {
        this.json(res, 410, status(410, 'Expired', 'The provided continue parameter is too old'));
        return;
      }
      ({ names, rv } = paged);
    } else {
      names = [...this.nodes.keys()].sort((a, b) => a.localeCompare(b));
      rv = this.rv;
    }
    const limit = Number(r.query.get('limit') ?? 0);
    const page = limit > 0 ? names.slice(0, limit) : names;
    const metadata: Obj = { resourceVersion: String(rv) };
    if (page.length < names.length) {
      const next = `page-${++this.uidCounter}`;
      this.pagedLists.set(next, { names: names.slice(page.length), rv });
      metadata.continue = next;
      metadata.remainingItemCount = names.length - page.length;
    }
    const items = page.map((n) => this.nodes.get(n)).filter((n): n is Obj => n !== undefined);
    // Serialised as they are (not cloned first): a 5 000-node list of realistic Nodes is 30 MB.
    this.json(res, 200, { kind: 'NodeList', apiVersion: 'v1', metadata, items });
  }

  private watch(r: RecordedRequest, res: ServerResponse): void {
    const rvText = r.query.get('resourceVersion') ?? '';
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    const w = { res, sentRV: 0 };
    if (rvText === '' || rvText === '0') {
      // "Any" resourceVersion: synthetic ADDED events for the current state.
      for (const n of this.nodes.values()) res.write(JSON.stringify({ type: 'ADDED', object: this.asObject(n) }) + '\n');
      w.sentRV = this.rv;
    } else {
      const from = Number(rvText);
      if (!Number.isInteger(from) || from < this.oldestWatchable) {
        res.end(JSON.stringify({ type: 'ERROR', object: this.gone(from) }) + '\n');
        return;
      }
      w.sentRV = from;
      for (const ev of this.history) this.send(w, ev);
    }
    this.watchers.add(w);
    const timeout = Number(r.query.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.watchers.delete(w);
    });
  }

  private patch(name: string, r: RecordedRequest, res: ServerResponse): void {
    const ct = (r.contentType ?? '').split(';')[0].trim();
    const allowed = ['application/merge-patch+json', 'application/strategic-merge-patch+json'];
    if (!allowed.includes(ct)) {
      this.json(res, 415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`));
      return;
    }
    let body: Obj;
    try {
      body = JSON.parse(r.body);
    } catch {
      this.json(res, 400, status(400, 'BadRequest', 'error decoding patch: invalid character'));
      return;
    }
    this.patches.push({ name, path: r.path, contentType: ct, body });
    const annotations = body?.metadata?.annotations;
    const conditions = body?.status?.conditions;
    if (conditions !== undefined && !r.path.endsWith('/status')) {
      // The main resource ignores status changes: only the subresource writes them.
      this.json(res, 200, this.asObject(this.nodes.get(name)!));
      return;
    }
    this.modifyNode(name, (n) => mergeNodePatch(n, annotations, conditions));
    this.json(res, 200, this.asObject(this.nodes.get(name)!));
  }
}

