// What this node publishes for the wireguard backend (flannel's
// wireguardLeaseAttrs): {"PublicKey": "<base64>", "Port": <listen port>} in
// BackendData, and the same with ListenPortV6 in BackendV6Data. The public
// key is derived from the node's private key file, which is created (0600)
// when missing: registering is the first thing a node does, so it is the
// moment the key comes to exist. Does file I/O (keyfile.ts); the private key
// never leaves this function.
import type { WireguardConfig } from '../../model/types.js';
import type { BackendData } from '../types.js';
import { keyFilePath, loadOrCreateKey } from './keyfile.js';
import { publicKeyOf } from './keys.js';

export interface LocalLeaseData {
  /** BackendData (the cluster's first family). */
  data: BackendData;
  /** BackendV6Data (the IPv6 half of a dual-stack or IPv6-only node). */
  data6: BackendData;
  /** The key file read (or created). */
  keyFile: string;
  /** True when this call generated the key (peers learn the new public key from this registration). */
  created: boolean;
  /** Set when the file is readable by others than its owner (mode, octal), worth a warning. */
  looseMode?: number;
}

/**
 * The local node's BackendData for a registration (etcd lease, Kubernetes
 * annotation). `netns`: the node runs in that network namespace (--netns),
 * whose key file is scoped like its subnet.env.
 */
export async function wireguardLeaseData(config: Pick<WireguardConfig, 'listenPort' | 'listenPortV6'>, o: { netns?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LocalLeaseData> {
  const keyFile = keyFilePath(o.env ?? process.env, o.netns);
  const { key, created, looseMode } = await loadOrCreateKey(keyFile);
  const PublicKey = publicKeyOf(key);
  return {
    data: { PublicKey, Port: config.listenPort },
    data6: { PublicKey, Port: config.listenPortV6 },
    keyFile, created, ...(looseMode !== undefined ? { looseMode } : {}),
  };
}
