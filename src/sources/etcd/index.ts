// `etcd://HOST:PORT[,HOST:PORT...][/PREFIX]` source: flannel's etcd v3 schema.
// The only code that imports `etcd3` (and through it gRPC); loaded only when
// an etcd source is used.
import type { Source, SourceOptions } from '../types.js';
import { EtcdSource } from './source.js';
import { clientOptions, parseEtcdURI } from './uri.js';

export { DEFAULT_PREFIX, DEFAULT_PORT, parseEtcdURI, type EtcdURI } from './uri.js';
export { DEFAULT_LEASE_TTL_SECONDS } from './lease.js';

export async function openEtcdSource(uri: string, opts: SourceOptions): Promise<Source> {
  const parsed = parseEtcdURI(uri);
  return new EtcdSource(uri, parsed, clientOptions(uri, parsed, opts), opts.leaseExpiries ?? true);
}
