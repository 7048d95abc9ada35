// Builders shared by the unit tests: typed values from text (throwing on a
// typo in a test table, so a bad fixture can never pass silently), nodes,
// validated clusters, host snapshots and changes.
import { parseIP, parsePrefix, type IP, type Prefix } from '../../../src/model/ip.js';
import { parseMAC, type MAC } from '../../../src/model/mac.js';
import { addOf, deleteOf, entryKey } from '../../../src/kinds/index.js';
import { OVLNET_ROUTE_PROTO } from '../../../src/model/keys.js';
import type {
  ActualState, BackendConfig, Change, Entry, FdbEntry, HostLink, HostRoute, NeighEntry, NetworkConfig, Node,
} from '../../../src/model/types.js';
import type { Underlay } from '../../../src/backends/types.js';
import type { ValidatedCluster } from '../../../src/validate/index.js';

export function ip(s: string): IP {
  const v = parseIP(s);
  if (!v) throw new Error(`test fixture: bad IP ${s}`);
  return v;
}

export function pfx(s: string): Prefix {
  const v = parsePrefix(s);
  if (!v) throw new Error(`test fixture: bad prefix ${s}`);
  return v;
}

export function mac(s: string): MAC {
  const v = parseMAC(s);
  if (!v) throw new Error(`test fixture: bad MAC ${s}`);
  return v;
}

/** Node `name` with public IP 192.0.2.<10+i> and subnet 198.18.<i>.0/24, MAC 0e:00:00:00:00:<i>. */
export function node(i: number, over: Partial<Node> = {}): Node {
  const hex = i.toString(16).padStart(2, '0');
  return {
    name: `node-${i}`,
    publicIP: ip(`192.0.2.${10 + i}`),
    subnet: pfx(`198.18.${i}.0/24`),
    vtepMAC: mac(`0e:00:00:00:00:${hex}`),
    origin: `nodes[${i}]`,
    ...over,
  };
}

export const VXLAN: BackendConfig = { type: 'vxlan', vni: 1, port: 8472, directRouting: false };
export const HOSTGW: BackendConfig = { type: 'host-gw' };

export function config(backend: BackendConfig = VXLAN, network = '198.18.0.0/16', subnetLen = 24): NetworkConfig {
  return { network: pfx(network), subnetLen, backend };
}

export function cluster(nodes: Node[], local: Node, backend: BackendConfig = VXLAN, network = '198.18.0.0/16'): ValidatedCluster {
  return { config: config(backend, network), nodes, problems: [], local };
}

export function underlay(over: Partial<Underlay> = {}): Underlay {
  return { dev: 'eth0', mtu: 1500, connected: [pfx('192.0.2.0/24')], found: true, ...over };
}

export function emptyActual(): ActualState {
  return { links: new Map(), routes: [], neighbors: [], fdb: [] };
}

export function hostLink(over: Partial<HostLink> & { name: string }): HostLink {
  return { index: 1, mtu: 1500, up: true, addrs: [], ...over };
}

/** The kernel state a desired plan describes, as `read` would return it (routes as HostRoute). */
export function actualFrom(entries: Entry[], extra: Partial<ActualState> = {}): ActualState {
  const a = emptyActual();
  for (const e of entries) {
    switch (e.kind) {
      case 'link':
        a.links.set(e.name, {
          name: e.name, index: 10, mtu: e.mtu, mac: e.mac, up: e.up, kind: 'vxlan',
          vxlan: { id: e.vni, local: e.local, link: e.underlay, port: e.port, learning: e.learning },
          addrs: [],
        });
        break;
      case 'addr': {
        const l = a.links.get(e.dev);
        if (!l) throw new Error(`test fixture: addr on unknown link ${e.dev}`);
        l.addrs.push(e.addr);
        break;
      }
      case 'neigh':
        a.neighbors.push({ ...e });
        break;
      case 'fdb':
        a.fdb.push({ ...e });
        break;
      case 'route':
        a.routes.push({ dst: e.dst, via: e.via, dev: e.dev, onlink: e.onlink, proto: e.proto });
        break;
      case 'sysctl':
        (a.sysctl ??= new Map()).set(entryKey(e), e.value);
        break;
      // A WireGuard device as a kernel `wireguard` link and what `wg show dump` says of it.
      case 'wg-device':
        a.links.set(e.name, { name: e.name, index: 11, mtu: e.mtu, up: e.up, kind: 'wireguard', addrs: [] });
        (a.wireguard ??= new Map()).set(e.name, { listenPort: e.listenPort, ...(e.publicKey ? { publicKey: e.publicKey } : {}), peers: [] });
        break;
      case 'wg-peer': {
        const w = a.wireguard?.get(e.dev);
        if (!w) throw new Error(`test fixture: wg-peer on unknown device ${e.dev}`);
        w.peers.push({ ...e, allowedIPs: [...e.allowedIPs] });
        break;
      }
    }
  }
  for (const [k, v] of extra.links ?? []) a.links.set(k, v);
  a.routes.push(...(extra.routes ?? []));
  a.neighbors.push(...(extra.neighbors ?? []));
  a.fdb.push(...(extra.fdb ?? []));
  return a;
}

export function route(dst: string, via: string, dev: string, onlink = false, proto = OVLNET_ROUTE_PROTO): HostRoute {
  return { dst: pfx(dst), via: ip(via), dev, onlink, proto };
}

export function neigh(dev: string, addr: string, m: string): NeighEntry {
  return { kind: 'neigh', dev, ip: ip(addr), mac: mac(m) };
}

export function fdb(dev: string, m: string, dst: string): FdbEntry {
  return { kind: 'fdb', dev, mac: mac(m), dst: ip(dst) };
}

export function addChange(e: Entry): Change {
  return addOf(e);
}

export function delChange(e: Entry): Change {
  return deleteOf(e);
}

/** `fn` must throw an error of class `cls` whose message matches `re`; returns the error. */
export function throwsLike(fn: () => unknown, cls: new (...a: any[]) => Error, re: RegExp): Error {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`expected ${cls.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    if (!re.test((e as Error).message)) throw new Error(`message ${JSON.stringify((e as Error).message)} does not match ${re}`);
    return e;
  }
  throw new Error(`expected ${cls.name} matching ${re}, nothing was thrown`);
}

export async function rejectsLike(p: Promise<unknown>, cls: new (...a: any[]) => Error, re: RegExp): Promise<Error> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`expected ${cls.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    if (!re.test((e as Error).message)) throw new Error(`message ${JSON.stringify((e as Error).message)} does not match ${re}`);
    return e;
  }
  throw new Error(`expected ${cls.name} matching ${re}, nothing was thrown`);
}
