// Kubernetes client configuration for the kube: source: which kubeconfig
// (kube:PATH, in-cluster, $KUBECONFIG, ~/.kube/config), plain http:// API
// servers as kubectl takes them, and the pieces of an API error a message
// needs (status code, the Status body's message, the action refused).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { OvlnetError, SourceError } from '../errors.js';
import { KubeCredentials } from './kube-auth.js';
import { isObject } from './netconf.js';

const SERVICEACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeconfigChoice {
  kc: KubeCredentials;
  /** For messages: `kubeconfig /root/.kube/config`, `in-cluster service account`. */
  where: string;
}

/** kube:PATH, else in-cluster, else $KUBECONFIG, else ~/.kube/config. */
export function loadKubeconfig(path: string, env: NodeJS.ProcessEnv = process.env): KubeconfigChoice {
  const kc = new KubeCredentials();
  let where: string;
  try {
    if (path) {
      where = `kubeconfig ${path}`;
      if (!existsSync(path)) throw new SourceError(`${where}: no such file`);
      kc.loadFromFile(path);
    } else if (env.KUBERNETES_SERVICE_HOST) {
      where = 'in-cluster service account';
      if (!existsSync(SERVICEACCOUNT_TOKEN)) {
        throw new SourceError(`KUBERNETES_SERVICE_HOST is set but there is no service account token at ${SERVICEACCOUNT_TOKEN}`,
          'mount the service account token (automountServiceAccountToken: true), or pass --source kube:KUBECONFIG');
      }
      kc.loadFromCluster(env);
    } else if (env.KUBECONFIG) {
      where = `kubeconfig $KUBECONFIG (${env.KUBECONFIG})`;
      // As kubectl: missing files are skipped, the first file's current-context wins.
      const files = env.KUBECONFIG.split(delimiter).filter((f) => f && existsSync(f));
      if (!files.length) throw new SourceError(`${where}: no such file`);
      kc.loadFromFile(files[0]);
      for (const f of files.slice(1)) {
        const more = new KubeCredentials();
        more.loadFromFile(f);
        kc.mergeConfig(more, Boolean(kc.currentContext));
      }
    } else {
      const home = join(homedir(), '.kube', 'config');
      where = `kubeconfig ${home}`;
      if (!existsSync(home)) {
        throw new SourceError(`no Kubernetes credentials: not in a cluster (KUBERNETES_SERVICE_HOST unset), $KUBECONFIG unset and no ${home}`,
          'pass --source kube:/path/to/kubeconfig');
      }
      kc.loadFromFile(home);
    }
  } catch (e) {
    if (e instanceof OvlnetError) throw e;
    throw new SourceError(`cannot load Kubernetes credentials: ${oneLine((e as Error).message)}`);
  }
  if (!kc.getCurrentCluster()) {
    throw new SourceError(`${where}: no current context with a cluster`, 'set current-context in the kubeconfig');
  }
  allowPlainHTTP(kc);
  return { kc, where };
}

/**
 * A plain http:// server (what `kubectl proxy` serves) works for kubectl as
 * it is, without insecure-skip-tls-verify. kube-http.ts speaks plain HTTP to
 * it either way; the cluster is marked so that what the configuration says
 * matches what is done (there is no TLS to verify), as the client library,
 * which refuses http:// otherwise, needed. https:// clusters keep their
 * verification.
 */
export function allowPlainHTTP(kc: KubeCredentials): void {
  kc.clusters = kc.clusters.map((c) => (c.server.startsWith('http:') && !c.skipTLSVerify ? { ...c, skipTLSVerify: true } : c));
}

export function oneLine(s: string, max = 240): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max) + '…' : t;
}

/** The message of a Kubernetes Status body, when the error carries one. */
export function statusMessage(e: unknown): string | undefined {
  const body = (e as { body?: unknown }).body;
  let v: unknown = body;
  if (typeof body === 'string') {
    try {
      v = JSON.parse(body);
    } catch {
      return body ? oneLine(body, 200) : undefined;
    }
  }
  const msg = isObject(v) ? v.message : undefined;
  return typeof msg === 'string' ? oneLine(msg, 200) : undefined;
}

export function httpStatus(e: unknown): number | undefined {
  const x = e as { code?: unknown; statusCode?: unknown };
  if (typeof x?.statusCode === 'number') return x.statusCode;
  if (typeof x?.code === 'number') return x.code;
  return undefined;
}

/** What was being done, for messages and RBAC hints: `list nodes`, `get configmaps in namespace kube-flannel`. */
export interface Action {
  verb: string;
  resource: string;
  namespace?: string;
}

export const permission = (a: Action) => `${a.verb} ${a.resource}${a.namespace ? ` in namespace ${a.namespace}` : ''}`;
