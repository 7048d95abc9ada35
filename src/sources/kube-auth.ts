// Kubernetes credentials for the kube: source without the whole client
// library: the library's KubeConfig module imports its generated API (every
// model of every API group, ~60 MB of RSS in a daemon that lists Nodes).
// This reads kubeconfig files and the in-cluster service account with the
// library's own pieces that carry no such weight: its kubeconfig entry
// parsing (config_types), YAML parser (js-yaml) and authenticators (exec
// plugins, token files; azure, gcp and oidc auth providers loaded only when a
// user names one), and applies them to a request as its KubeConfig does
// (applyOptions: client certificate, CA, tls-server-name, bearer token, basic
// auth, impersonation).
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import type { Agent } from 'node:http';
import yaml from 'js-yaml';
import { newClusters, newContexts, newUsers, type Cluster, type Context, type User } from '@kubernetes/client-node/dist/config_types.js';
import { ExecAuth } from '@kubernetes/client-node/dist/exec_auth.js';
import { FileAuth } from '@kubernetes/client-node/dist/file_auth.js';

export type { Cluster, Context, User };

const SERVICEACCOUNT_ROOT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What an authenticator sets on a request (the library's https.RequestOptions subset). */
export interface AuthOptions {
  headers: Record<string, string>;
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  rejectUnauthorized?: boolean;
  servername?: string;
  /** user:password for basic auth. */
  auth?: string;
}

interface Authenticator {
  isAuthProvider(user: User): boolean;
  applyAuthentication(user: User, opts: AuthOptions): Promise<void>;
}

export class KubeCredentials {
  clusters: Cluster[] = [];
  users: User[] = [];
  contexts: Context[] = [];
  currentContext = '';
  private readonly exec = new ExecAuth() as unknown as Authenticator;
  private readonly file = new FileAuth() as unknown as Authenticator;
  private providers?: Promise<Authenticator[]>;

  /** As KubeConfig.loadFromFile: relative certificate and key paths are relative to the file. */
  loadFromFile(file: string): void {
    this.loadFromString(readFileSync(file, 'utf8'));
    const root = dirname(file);
    const abs = (p: string | undefined) => (p && !isAbsolute(p) ? join(root, p) : p);
    for (const c of this.clusters) c.caFile = abs(c.caFile);
    for (const u of this.users) {
      u.certFile = abs(u.certFile);
      u.keyFile = abs(u.keyFile);
    }
  }

  loadFromString(text: string): void {
    const obj = yaml.load(text) as Record<string, unknown> | null | undefined;
    if (typeof obj !== 'object' || obj === null) throw new Error('not a kubeconfig: expected a YAML mapping');
    this.clusters = newClusters(obj.clusters);
    this.contexts = newContexts(obj.contexts);
    this.users = newUsers(obj.users);
    this.currentContext = typeof obj['current-context'] === 'string' ? obj['current-context'] : '';
  }

  /** The pod's service account, as KubeConfig.loadFromCluster (token re-read every minute by the token-file authenticator). */
  loadFromCluster(env: NodeJS.ProcessEnv, root = SERVICEACCOUNT_ROOT): void {
    const host = env.KUBERNETES_SERVICE_HOST ?? '';
    const port = env.KUBERNETES_SERVICE_PORT ?? '';
    const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
    this.clusters = [{ name: 'inCluster', caFile: `${root}/ca.crt`, server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`, skipTLSVerify: false }];
    this.users = [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: `${root}/token` } } }];
    this.contexts = [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser' }];
    this.currentContext = 'inClusterContext';
  }

  /** As KubeConfig.mergeConfig: duplicates are errors; the current context is kept when preserveContext. */
  mergeConfig(other: KubeCredentials, preserveContext = false): void {
    if (!preserveContext && other.currentContext) this.currentContext = other.currentContext;
    const add = <T extends { name: string }>(into: T[], items: T[], what: string) => {
      for (const it of items) {
        if (into.some((x) => x.name === it.name)) throw new Error(`Duplicate ${what}: ${it.name}`);
        into.push(it);
      }
    };
    add(this.clusters, other.clusters, 'cluster');
    add(this.users, other.users, 'user');
    add(this.contexts, other.contexts, 'context');
  }

  getContexts(): Context[] {
    return this.contexts;
  }

  getCurrentContextObject(): Context | undefined {
    return this.contexts.find((c) => c.name === this.currentContext);
  }

  getCluster(name: string): Cluster | undefined {
    return this.clusters.find((c) => c.name === name);
  }

  getCurrentCluster(): Cluster | undefined {
    const ctx = this.getCurrentContextObject();
    return ctx ? this.getCluster(ctx.cluster) : undefined;
  }

  getCurrentUser(): User | undefined {
    const ctx = this.getCurrentContextObject();
    return ctx ? this.users.find((u) => u.name === ctx.user) : undefined;
  }

  /**
   * The TLS material and headers of one request, as KubeConfig.applyOptions
   * sets them; asked per request, since exec plugins and token files rotate.
   */
  async requestOptions(): Promise<AuthOptions> {
    const opts: AuthOptions = { headers: {} };
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    if (!user) return opts;
    if (cluster?.skipTLSVerify) opts.rejectUnauthorized = false;
    if (cluster?.tlsServerName) opts.servername = cluster.tlsServerName;
    const ca = cluster ? fileOrData(cluster.caFile, cluster.caData) : undefined;
    if (ca) opts.ca = ca;
    const cert = fileOrData(user.certFile, user.certData);
    if (cert) opts.cert = cert;
    const key = fileOrData(user.keyFile, user.keyData);
    if (key) opts.key = key;
    if (user.impersonateUser != null) opts.headers['Impersonate-User'] = user.impersonateUser;
    const authenticator = await this.authenticatorFor(user);
    if (authenticator) await authenticator.applyAuthentication(user, opts);
    if (user.token) opts.headers.Authorization = `Bearer ${user.token}`;
    if (user.username) opts.auth = `${user.username}:${user.password}`;
    return opts;
  }

  /** The library's order: azure, gcp, exec, token file, oidc; the auth-provider ones are loaded only for a user that has one. */
  private async authenticatorFor(user: User): Promise<Authenticator | undefined> {
    if (!user.authProvider) return this.exec.isAuthProvider(user) ? this.exec : undefined;
    this.providers ??= loadProviders();
    const [azure, gcp, oidc] = await this.providers;
    return [azure, gcp, this.exec, this.file, oidc].find((a) => a.isAuthProvider(user));
  }

  /** The proxy agent of a cluster with proxy-url (loaded only then), else undefined. */
  async proxyAgent(opts: AuthOptions): Promise<Agent | undefined> {
    const cluster = this.getCurrentCluster();
    const proxy = cluster?.proxyUrl;
    if (!proxy) return undefined;
    const agentOptions = { ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername, keepAlive: true };
    if (proxy.startsWith('socks')) {
      const { SocksProxyAgent } = await import('socks-proxy-agent');
      return new SocksProxyAgent(proxy, agentOptions) as unknown as Agent;
    }
    const { HttpProxyAgent, HttpsProxyAgent } = await import('hpagent');
    return cluster.server.startsWith('https')
      ? new HttpsProxyAgent({ ...agentOptions, proxy }) as unknown as Agent
      : new HttpProxyAgent({ ...agentOptions, proxy }) as unknown as Agent;
  }
}

async function loadProviders(): Promise<Authenticator[]> {
  const [{ AzureAuth }, { GoogleCloudPlatformAuth }, { OpenIDConnectAuth }] = await Promise.all([
    import('@kubernetes/client-node/dist/azure_auth.js'),
    import('@kubernetes/client-node/dist/gcp_auth.js'),
    import('@kubernetes/client-node/dist/oidc_auth.js'),
  ]);
  return [new AzureAuth(), new GoogleCloudPlatformAuth(), new OpenIDConnectAuth()] as unknown as Authenticator[];
}

function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  if (data) return Buffer.from(data, 'base64');
  return undefined;
}
