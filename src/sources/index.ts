// Picks the source implementation for a URI. Each is imported only when used.
import { UsageError } from '../errors.js';
import type { Source, SourceOptions } from './types.js';

export const DEFAULT_SOURCE = 'file:/etc/ovlnet/cluster.yaml';

export function resolveSourceURI(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag || env.OVLNET_SOURCE || DEFAULT_SOURCE;
}

/** Whether the daemon registers this node in the source (etcd: a lease; Kubernetes: the Node's annotations). */
export function sourceRegisters(uri: string): boolean {
  return !uri.startsWith('file:');
}

export async function openSource(uri: string, opts: SourceOptions = {}): Promise<Source> {
  if (uri.startsWith('file:')) {
    const { FileSource } = await import('./file.js');
    return new FileSource(uri, opts);
  }
  if (uri.startsWith('etcd://') || uri.startsWith('etcds://')) {
    const { openEtcdSource } = await import('./etcd/index.js').catch(() => {
      throw new UsageError(`source ${uri}: the etcd source is not available in this build`);
    });
    return openEtcdSource(uri, opts);
  }
  if (uri === 'kube:' || uri.startsWith('kube:')) {
    const { openKubeSource } = await import('./kube.js').catch(() => {
      throw new UsageError(`source ${uri}: the Kubernetes source is not available in this build`);
    });
    return openKubeSource(uri, opts);
  }
  // A bare path is the most common slip; say what to write instead.
  const hint = uri.includes('://') ? undefined : `did you mean --source file:${uri}?`;
  throw new UsageError(`unknown source "${uri}": use file:PATH, etcd://HOST:PORT[/PREFIX] or kube:[KUBECONFIG]`, hint);
}
