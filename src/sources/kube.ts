// `kube:[KUBECONFIG]` source: the cluster as flannel's kube subnet manager
// sees it. Nodes give the subnet (spec.podCIDR(s)) and, through flannel's
// annotations, the public IP, backend type and VTEP MAC; the network config
// is net-conf.json from the kube-flannel-cfg ConfigMap (or --net-conf).
//
// Talks to the API server through kube-http.ts (node:http(s), credentials
// from kube-auth.ts) rather than the whole Kubernetes client library, whose
// generated API alone costs ~60 MB of RSS; keeps only the fields of a Node
// ovlnet reads (kube-wire.ts). src/sources/index.ts loads it only for kube: URIs.
import { readFile, stat } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { SourceError } from '../errors.js';
import { httpStatus, loadKubeconfig, oneLine, permission, statusMessage, type Action, type KubeconfigChoice } from './kube-config.js';
import { KubeHttp } from './kube-http.js';
import { NodeReflector } from './kube-reflector.js';
import { baselineOf, configKey, kubeDelta, type KubeBaseline } from './kube-delta.js';
import { leanNode, listQuery, pageEnd, pageItems } from './kube-wire.js';
import { parseIP } from '../model/ip.js';
import type { ClusterState, RawConfig } from '../model/types.js';
import { readHost } from '../host/read.js';
import { validateConfig } from '../validate/config.js';
import {
  CONFIGMAP_NAME, CONFIGMAP_NAMESPACES, NETCONF_KEY, annotationKeys, annotationPatch, ipv4PodCIDR, ipv6PodCIDR, networkUpPatch, nodesToRaw, overwrittenPublicIP,
  publishedAnnotations, publishedVtepMAC, type AnnotationKeys, type KubeNode, type MappedNodes,
} from './kube-map.js';
import { isObject, rawConfigFromObject } from './netconf.js';
import { MAX_FILE_BYTES, parseDocument } from './parse-limits.js';
import { backendOf } from '../backends/registry.js';
import { backendNeedsMAC, choosePublicIPv4, choosePublicIPv6, chooseVtepMAC, registeredPublicKey } from './registration.js';
import type { Registration, RegisterOptions, Source, SourceOptions, SourceUpdate, WatchHandlers } from './types.js';

const RBAC_HINT = 'grant it to the account ovlnet runs as (see contrib/kubernetes/kube-ovlnet.yml)';

/** Per request; a watch stream is not bounded by it. */
const REQUEST_TIMEOUT_MS = 30_000;
const LIST_PAGE = 500;
/** A list whose continue token expired (410 mid-list) starts over, at most this often. */
const LIST_RESTARTS = 3;
const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
/** While watching, the ConfigMap is re-read at most this often (load() runs every resync). */
const CONFIG_REFRESH_MS = 5 * 60_000;

class KubeSource implements Source {
  readonly uri: string;
  private readonly where: string;
  private readonly server: string;
  private readonly api: KubeHttp;
  private readonly keys: AnnotationKeys;
  private readonly opts: SourceOptions;
  private readonly reflectors = new Set<NodeReflector>();
  private configCache?: { config: RawConfig; warnings: string[]; at: number };
  private readonly closing = new AbortController();
  /**
   * Set by register() after it patched our Node: the watch cache may not have
   * seen that MODIFIED event yet, and a load() from it would find this node
   * unpublished (a failed first cycle), so the next load() lists instead.
   */
  private listOnNextLoad = false;
  /** The last state given out from a watch cache: what update()'s deltas are relative to. */
  private baseline?: KubeBaseline & { reflector: NodeReflector };
  /** The Node register() published. */
  private registeredName?: string;
  /** The local node's name once found (see localNodeName); undefined until then. */
  private nodeName?: Promise<string | undefined>;

  constructor(uri: string, opts: SourceOptions, choice: KubeconfigChoice, keys: AnnotationKeys) {
    this.uri = uri;
    this.opts = opts;
    this.where = choice.where;
    this.server = choice.kc.getCurrentCluster()!.server;
    this.keys = keys;
    this.api = new KubeHttp(choice.kc);
  }

  /** A request's signal: a timeout, and abort on close. */
  private signal(signal?: AbortSignal): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), this.closing.signal, ...(signal ? [signal] : [])]);
  }

  /** Turns a client error into a one-line SourceError naming the server and, on 403, the missing permission. */
  toSourceError(e: unknown, action: Action): SourceError {
    if (e instanceof SourceError) return e;
    const code = httpStatus(e);
    const detail = statusMessage(e);
    const what = permission(action);
    if (code === 403) {
      return new SourceError(`forbidden to ${what} at ${this.server}${detail ? ` (${detail})` : ''}`, RBAC_HINT);
    }
    if (code === 401) {
      return new SourceError(`${this.server} rejected the credentials from ${this.where} (401 Unauthorized) while trying to ${what}`,
        'check the token or client certificate in the kubeconfig (expired?)');
    }
    if (code !== undefined) return new SourceError(`cannot ${what} at ${this.server}: HTTP ${code}${detail ? `: ${detail}` : ''}`);
    const err = e as Error & { code?: string; type?: string; name?: string };
    if (err?.name === 'AbortError' || err?.name === 'TimeoutError' || err?.type === 'aborted') {
      if (this.closing.signal.aborted) return new SourceError(`source ${this.uri} was closed while trying to ${what}`);
      return new SourceError(`no answer from ${this.server} within ${REQUEST_TIMEOUT_MS / 1000} s while trying to ${what}`);
    }
    if (typeof err?.code === 'string' && /^E[A-Z]+$/.test(err.code)) {
      return new SourceError(`cannot reach the Kubernetes API at ${this.server} (${err.code}) to ${what}`,
        `check the server address in ${this.where} and that the API server is up`);
    }
    return new SourceError(`cannot ${what} at ${this.server}: ${oneLine(err?.message ?? String(e))}`);
  }

  // ---- reading ------------------------------------------------------------------

  /**
   * Every Node (only the fields ovlnet reads), page by page; the list's
   * resourceVersion starts a watch. Each page is cut down before the next
   * is asked for, so a list never holds more than one page of whole Nodes.
   */
  async listNodes(signal?: AbortSignal): Promise<{ items: KubeNode[]; resourceVersion: string }> {
    for (let attempt = 0; ; attempt++) {
      const items: KubeNode[] = [];
      let cont: string | undefined;
      let rv = '';
      try {
        do {
          const page = await this.api.json('/api/v1/nodes', { query: listQuery(LIST_PAGE, cont), signal: this.signal(signal) });
          for (const n of pageItems(page, this.keys)) items.push(n);
          const end = pageEnd(page);
          if (!cont) rv = end.resourceVersion;
          cont = end.next;
        } while (cont);
        return { items, resourceVersion: rv };
      } catch (e) {
        // The continue token expired between pages: the list starts over.
        if (cont && httpStatus(e) === 410 && attempt < LIST_RESTARTS) continue;
        throw this.toSourceError(e, { verb: 'list', resource: 'nodes' });
      }
    }
  }

  private async readNetConfFile(path: string): Promise<RawConfig> {
    let text: string;
    try {
      const st = await stat(path);
      if (st.size > MAX_FILE_BYTES) throw new SourceError(`${path}: larger than ${MAX_FILE_BYTES} bytes`);
      text = await readFile(path, 'utf8');
    } catch (e) {
      if (e instanceof SourceError) throw e;
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message;
      throw new SourceError(`cannot read --net-conf ${path}: ${why}`);
    }
    return this.parseNetConf(text, path);
  }

  private async parseNetConf(text: string, origin: string): Promise<RawConfig> {
    const doc = await parseDocument(text, origin, 'json');
    if (!isObject(doc)) throw new SourceError(`${origin}: expected a JSON object like {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}`);
    return rawConfigFromObject(doc, origin);
  }

  /** net-conf.json from ConfigMap kube-flannel-cfg in kube-flannel, then kube-system. */
  private async readNetConfMap(): Promise<RawConfig> {
    const forbidden: string[] = [];
    const missing: string[] = [];
    let forbiddenDetail: string | undefined;
    for (const namespace of CONFIGMAP_NAMESPACES) {
      const action: Action = { verb: 'get', resource: 'configmaps', namespace };
      let cm: { data?: Record<string, unknown> };
      try {
        cm = await this.api.json(`/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${CONFIGMAP_NAME}`, { signal: this.signal() }) as typeof cm;
      } catch (e) {
        const code = httpStatus(e);
        if (code === 404) {
          missing.push(namespace);
          continue;
        }
        if (code === 403) {
          forbidden.push(namespace);
          forbiddenDetail ??= statusMessage(e);
          continue;
        }
        throw this.toSourceError(e, action);
      }
      const origin = `ConfigMap ${namespace}/${CONFIGMAP_NAME} key ${NETCONF_KEY}`;
      const text = cm.data?.[NETCONF_KEY];
      if (typeof text !== 'string') {
        throw new SourceError(`ConfigMap ${namespace}/${CONFIGMAP_NAME} has no ${NETCONF_KEY} key`, 'pass --net-conf FILE');
      }
      return this.parseNetConf(text, origin);
    }
    if (forbidden.length) {
      const also = missing.length ? `; it is not in namespace ${missing.join(' or ')}` : '';
      throw new SourceError(
        `cannot read the network config: forbidden to get configmaps in namespace ${forbidden.join(' and ')} at ${this.server}${also}${forbiddenDetail ? ` (${forbiddenDetail})` : ''}`,
        `${RBAC_HINT}, or pass --net-conf FILE`);
    }
    throw new SourceError(
      `no network config: ConfigMap ${CONFIGMAP_NAME} with ${NETCONF_KEY} not found in namespace ${CONFIGMAP_NAMESPACES.join(' or ')} at ${this.server}`,
      'pass --net-conf FILE (flannel mounts it as /etc/kube-flannel/net-conf.json)');
  }

  private async readConfig(): Promise<RawConfig> {
    return this.opts.netConf ? this.readNetConfFile(this.opts.netConf) : this.readNetConfMap();
  }

  /**
   * While watching, the ConfigMap is cached (every node re-reading it each
   * resync would load the API server); a failed refresh keeps the last copy.
   */
  private async loadConfig(): Promise<{ config: RawConfig; warnings: string[] }> {
    const watching = this.reflectors.size > 0 && !this.opts.netConf;
    const cached = this.configCache;
    if (watching && cached && Date.now() - cached.at < CONFIG_REFRESH_MS) return cached;
    try {
      const config = await this.readConfig();
      this.configCache = { config, warnings: [], at: Date.now() };
      return this.configCache;
    } catch (e) {
      if (!watching || !cached) throw e;
      return { config: cached.config, warnings: [`${(e as Error).message}; using the network config read ${new Date(cached.at).toISOString()}`] };
    }
  }

  /**
   * The local node's name as flanneld finds it: --node or NODE_NAME, else
   * (in a pod) the spec.nodeName of pod POD_NAMESPACE/POD_NAME; undefined
   * when neither is set (the engine then tries the host name). Asked once.
   */
  localNodeName(): Promise<string | undefined> {
    this.nodeName ??= this.findNodeName().catch((e) => {
      this.nodeName = undefined; // a failed lookup is retried next time
      throw e;
    });
    return this.nodeName;
  }

  private async findNodeName(): Promise<string | undefined> {
    const env = this.opts.env ?? process.env;
    const given = this.opts.nodeName || env.NODE_NAME;
    if (given) return given;
    const name = env.POD_NAME;
    const namespace = env.POD_NAMESPACE;
    if (!name || !namespace) return undefined;
    let pod: { spec?: { nodeName?: unknown } };
    try {
      pod = await this.api.json(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`, { signal: this.signal() }) as typeof pod;
    } catch (e) {
      const err = this.toSourceError(e, { verb: 'get', resource: 'pods', namespace });
      throw new SourceError(`cannot find this node's name from pod ${namespace}/${name} (POD_NAMESPACE/POD_NAME): ${err.message}`,
        err.hint ?? 'set NODE_NAME from spec.nodeName in the DaemonSet, or pass --node NAME');
    }
    const node = pod.spec?.nodeName;
    if (typeof node !== 'string' || !node) throw new SourceError(`pod ${namespace}/${name} (POD_NAMESPACE/POD_NAME) has no spec.nodeName`, 'set NODE_NAME, or pass --node NAME');
    return node;
  }

  async load(): Promise<ClusterState> {
    let listed = false;
    let synced: NodeReflector | undefined;
    const [{ config, warnings }, items, localName] = await Promise.all([
      this.loadConfig(),
      (this.listOnNextLoad ? Promise.resolve(undefined) : this.watchCache()).then((r) => {
        if (r) {
          // Taken with the drain, at one point: a watch event after it is in the next delta.
          synced = r;
          const cached = r.items();
          r.drain();
          return cached;
        }
        listed = true;
        return this.listNodes().then((l) => l.items);
      }),
      this.localNodeName(),
    ]);
    if (listed) this.listOnNextLoad = false;
    const mapped = nodesToRaw(items, this.keys);
    const key = configKey(config, warnings, localName);
    this.baseline = synced ? { reflector: synced, ...baselineOf(mapped, key) } : undefined;
    return this.stateOf(config, warnings, localName, mapped);
  }

  /**
   * Daemon event cycles: the Nodes the watch touched since the last state
   * given out, each mapped alone (kube-delta.ts); the whole state (load())
   * when a delta can not say all that changed.
   */
  async update(): Promise<SourceUpdate> {
    const base = this.baseline;
    const synced = this.listOnNextLoad ? undefined : [...this.reflectors].find((r) => r.synced);
    if (!base || base.reflector !== synced) return this.wholeUpdate();
    const [{ config, warnings }, localName] = await Promise.all([this.loadConfig(), this.localNodeName()]);
    const touched = synced.drain();
    const items = synced.items();
    const key = configKey(config, warnings, localName);
    const delta = touched && kubeDelta(touched, (name) => synced.node(name), base, key, this.keys);
    if (!delta || 'whole' in delta) {
      const mapped = nodesToRaw(items, this.keys);
      this.baseline = { reflector: synced, ...baselineOf(mapped, key) };
      const state = this.stateOf(config, warnings, localName, mapped);
      return { state: async () => state };
    }
    let state: ClusterState | undefined;
    return { delta, state: async () => (state ??= this.stateOf(config, warnings, localName, nodesToRaw(items, this.keys))) };
  }

  private async wholeUpdate(): Promise<SourceUpdate> {
    const state = await this.load();
    return { state: async () => state };
  }

  private stateOf(config: RawConfig, warnings: string[], localName: string | undefined, mapped: MappedNodes): ClusterState {
    return {
      config,
      nodes: mapped.nodes,
      warnings: [...warnings, ...mapped.warnings],
      namedNodes: true,
      macRequired: true,
      leftOut: mapped.leftOut,
      publicIPOverwritten: mapped.overwritten,
      ...(localName ? { localName } : {}),
    };
  }

  /**
   * A reflector load() may answer from: one in sync, else one whose first
   * list is under way. The daemon starts its watch just before the first
   * cycle: waiting for that list instead of listing too reads the Nodes once
   * at start, not twice at once (5 000 realistic Nodes are ~30 MB of JSON).
   * Its changes since are the watch's events. Not after register() patched
   * this node (listOnNextLoad): a list begun before the patch misses it.
   */
  private async watchCache(): Promise<NodeReflector | undefined> {
    const reflectors = [...this.reflectors];
    const synced = reflectors.find((r) => r.synced);
    if (synced) return synced;
    for (const r of reflectors) if (await r.firstListed()) return r;
    return undefined;
  }

  // ---- watching -----------------------------------------------------------------

  watch(h: WatchHandlers): () => void {
    const r = new NodeReflector(this, this.api, this.keys, h);
    this.reflectors.add(r);
    r.start();
    return () => {
      this.reflectors.delete(r);
      r.stop();
    };
  }

  // ---- publishing -----------------------------------------------------------------

  private async readNode(name: string): Promise<KubeNode> {
    try {
      return leanNode(await this.api.json(`/api/v1/nodes/${encodeURIComponent(name)}`, { signal: this.signal() }), this.keys) ?? {};
    } catch (e) {
      if (httpStatus(e) === 404) {
        throw new SourceError(`Node ${name} does not exist at ${this.server}`, 'pass --node NAME (flannel\'s DaemonSet sets NODE_NAME from spec.nodeName)');
      }
      throw this.toSourceError(e, { verb: 'get', resource: 'nodes' });
    }
  }

  async register(ro: RegisterOptions): Promise<Registration> {
    const name = ro.nodeName || await this.localNodeName() || hostname();
    const [node, raw] = await Promise.all([this.readNode(name), this.loadConfig()]);
    this.registeredName = name;
    const config = validateConfig(raw.config);

    const subnet = ipv4PodCIDR(node);
    if (subnet === undefined) {
      throw new SourceError(`Node ${name} has no IPv4 podCIDR assigned yet`,
        'the pod subnets come from kube-controller-manager --allocate-node-cidrs (or set spec.podCIDR)');
    }

    // The one public-IP policy every registering source shares finds this
    // host's own address. flannel publishes the operator's public-ip-overwrite
    // when there is one, but its vxlan device keeps the host's own address as `local`.
    const hostIP = choosePublicIPv4(ro, config, ro.publicIP === undefined ? await readHost(ro.netns) : undefined).text;
    const overwrite = overwrittenPublicIP(node, this.keys)?.text;
    const publicIP = overwrite ?? hostIP;
    const localAddress = overwrite && overwrite !== hostIP ? hostIP : undefined;

    let vtepMAC: string | undefined;
    if (backendNeedsMAC(config)) {
      // Peers route to the published MAC; keeping it across restarts avoids churn on every node.
      vtepMAC = chooseVtepMAC(publishedVtepMAC(node, this.keys), ro.existingVtepMAC).text;
    }
    // Dual stack: the IPv6 half too, or flannel peers reach this node over IPv4 only.
    const subnet6 = config.ipv6 ? ipv6PodCIDR(node) : undefined;
    const v6: Pick<Registration, 'publicIPv6' | 'subnet6' | 'vtepMACv6'> = {};
    if (config.ipv6 && subnet6) {
      const host6 = ro.publicIPv6 === undefined ? await readHost(ro.netns) : undefined;
      v6.publicIPv6 = choosePublicIPv6(ro, config.ipv6.network, host6, parseIP(publicIP)!).text;
      v6.subnet6 = subnet6;
      if (backendNeedsMAC(config)) v6.vtepMACv6 = chooseVtepMAC(publishedVtepMAC(node, this.keys, 6), ro.existingVtepMACv6).text;
    }
    // What the backend keeps on the host (wireguard: the key file's public key), once per registration.
    const local = await backendOf(config).localLeaseData?.(config.backend, { netns: ro.netns });
    const want = publishedAnnotations({
      publicIP,
      backendType: config.backend.type,
      backend: config.backend,
      local,
      vtepMAC,
      publicIPv6: v6.publicIPv6,
      vtepMACv6: v6.vtepMACv6,
    }, this.keys);
    const patch = annotationPatch(node.metadata?.annotations, want);
    if (patch) {
      try {
        // As flannel: a strategic-merge patch through the status subresource,
        // so the account needs "patch nodes/status" and not "patch nodes".
        await this.patchNodeStatus(name, patch);
        this.listOnNextLoad = true;
      } catch (e) {
        throw this.toSourceError(e, { verb: 'patch', resource: 'nodes/status' });
      }
    }
    const publicKey = registeredPublicKey(config, local);
    return { publicIP, subnet, vtepMAC, ...v6, ...(localAddress ? { localAddress } : {}), ...(publicKey ? { publicKey } : {}) };
  }

  async markNetworkUp(): Promise<void> {
    const name = this.registeredName ?? await this.localNodeName() ?? hostname();
    try {
      // As flanneld: a strategic-merge patch of the status subresource (conditions merge by type).
      await this.patchNodeStatus(name, networkUpPatch(new Date()));
    } catch (e) {
      throw this.toSourceError(e, { verb: 'patch', resource: 'nodes/status' });
    }
  }

  private async patchNodeStatus(name: string, body: unknown): Promise<void> {
    await this.api.json(`/api/v1/nodes/${encodeURIComponent(name)}/status`, { method: 'PATCH', body, contentType: STRATEGIC_MERGE_PATCH, signal: this.signal() });
  }

  async close(): Promise<void> {
    const stopping = [...this.reflectors].map((r) => r.stop());
    this.reflectors.clear();
    this.closing.abort();
    await Promise.all(stopping);
    this.api.close();
  }
}

/** A random locally administered unicast MAC, as the kernel gives a new vxlan device. */

export async function openKubeSource(uri: string, opts: SourceOptions): Promise<Source> {
  const keys = annotationKeys(opts.annotationPrefix);
  let path = uri.slice('kube:'.length);
  // The shell expands ~ only at the start of a word, not after "kube:".
  if (path.startsWith('~/')) path = join(homedir(), path.slice(2));
  return new KubeSource(uri, opts, loadKubeconfig(path), keys);
}
