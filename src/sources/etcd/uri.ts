// `etcd://HOST:PORT[,HOST:PORT...][/PREFIX]` (etcds:// for TLS) and the
// client options it and the TLS flags and credentials give.
import { readFileSync } from 'node:fs';
import type { IOptions } from 'etcd3';
import { UsageError } from '../../errors.js';
import type { SourceOptions } from '../types.js';

export const DEFAULT_PREFIX = '/coreos.com/network';
export const DEFAULT_PORT = 2379;

export interface EtcdURI {
  tls: boolean;
  /** `host:port`, IPv6 hosts in brackets. */
  endpoints: string[];
  prefix: string;
}

export function parseEtcdURI(uri: string): EtcdURI {
  const m = /^(etcds?):\/\/([^/]*)(\/.*)?$/.exec(uri);
  if (!m) throw new UsageError(`source ${uri}: expected etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`);
  const tls = m[1] === 'etcds';
  if (!m[2]) throw new UsageError(`source ${uri}: no endpoint; expected etcd://HOST:PORT[/PREFIX]`);
  const endpoints = m[2].split(',').map((hp) => {
    const e = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?$/.exec(hp);
    const port = e?.[2] === undefined ? DEFAULT_PORT : Number(e[2]);
    if (!e || port < 1 || port > 65535) throw new UsageError(`source ${uri}: bad endpoint "${hp.slice(0, 80)}"; expected HOST:PORT`);
    return `${e[1]}:${port}`;
  });
  let prefix = (m[3] ?? '').replace(/\/+$/, '');
  if (prefix === '') prefix = DEFAULT_PREFIX;
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(prefix) || prefix.includes('//')) {
    throw new UsageError(`source ${uri}: bad prefix "${prefix.slice(0, 80)}"`);
  }
  return { tls, endpoints, prefix };
}

function readPEM(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** The etcd3 client options: endpoints, TLS files, and the user from --etcd-username/--etcd-password (or OVLNET_ETCD_USERNAME/PASSWORD). */
export function clientOptions(uri: string, parsed: EtcdURI, opts: SourceOptions, env: NodeJS.ProcessEnv = process.env): IOptions {
  const options: IOptions = { hosts: parsed.endpoints.map((e) => `${parsed.tls ? 'https' : 'http'}://${e}`) };
  const tlsFlags = [opts.etcdCaFile, opts.etcdCertFile, opts.etcdKeyFile].some((f) => f !== undefined);
  if (tlsFlags && !parsed.tls) {
    throw new UsageError(`source ${uri}: --etcd-cafile/--etcd-certfile/--etcd-keyfile need a TLS source: write etcds://…`);
  }
  if ((opts.etcdCertFile === undefined) !== (opts.etcdKeyFile === undefined)) {
    throw new UsageError('--etcd-certfile and --etcd-keyfile go together');
  }
  if (parsed.tls && tlsFlags) {
    options.credentials = {
      rootCertificate: opts.etcdCaFile ? readPEM(opts.etcdCaFile, '--etcd-cafile') : (undefined as unknown as Buffer),
      certChain: opts.etcdCertFile ? readPEM(opts.etcdCertFile, '--etcd-certfile') : undefined,
      privateKey: opts.etcdKeyFile ? readPEM(opts.etcdKeyFile, '--etcd-keyfile') : undefined,
    };
  }
  const username = opts.etcdUsername ?? env.OVLNET_ETCD_USERNAME;
  const password = opts.etcdPassword ?? env.OVLNET_ETCD_PASSWORD;
  if (username !== undefined || password !== undefined) {
    if (!username || password === undefined) throw new UsageError('set both --etcd-username and --etcd-password (or OVLNET_ETCD_USERNAME and OVLNET_ETCD_PASSWORD), or neither');
    options.auth = { username, password };
  }
  return options;
}
